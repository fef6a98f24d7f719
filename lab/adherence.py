"""Playbook-adherence checks over one finished transcript (seed 000, sections 1.1 and 1.2).

Beside completeness and accuracy, these say whether the assistant ran the call the way the
playbook asks: no pitch before discovery, no jargon before the customer shows technical readiness,
never "we are not enterprise-ready", the next step that fits the customer's segment, positioning in
the customer's own words, and not leaving the script when a customer tries to derail it.

Each check passes, fails, or does not apply (no pitch, no derail attempt), and names the assistant
turns that broke it, so a reviewer can open the transcript at the right place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from pydantic import Field

from lab.scenarios import Persona
from lab.scoring import AskedMatch
from lab.scoring.adherence import (
    complied_with,
    forbidden_phrase,
    injection_evidence,
    jargon_terms,
    load_adherence_config,
    positioning_evidence,
    proposed_next_step,
    readiness_evidence,
    shared_words,
)
from lab.scoring.text import detect_language
from lab.types import Frozen, Transcript, Turn


class AdherenceResult(Frozen):
    """One check on one scenario. `passed` is None where the check does not apply."""

    scenario: str
    version: str
    persona: str
    repetition: int
    language: str
    check: str
    passed: bool | None
    turns: list[int] = Field(default_factory=list, description="Assistant turns that broke the rule.")
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    passed: bool | None
    turns: list[int]
    detail: str


@dataclass
class CallView:
    """A transcript with the detector's findings per turn: what every check reads."""

    transcript: Transcript
    persona: Persona
    matches: dict[int, list[AskedMatch]]
    model: str | None = None

    @property
    def assistant_turns(self) -> list[Turn]:
        return [t for t in self.transcript.turns if t.role == "assistant"]

    def first_asked(self) -> dict[str, int]:
        first: dict[str, int] = {}
        for index in sorted(self.matches):
            for match in self.matches[index]:
                first.setdefault(match.question_id, index)
        return first

    def reply_after(self, turn: Turn) -> Turn | None:
        return next((t for t in self.transcript.turns if t.index > turn.index and t.role == "assistant"), None)

    @cached_property
    def pitches(self) -> list[tuple[Turn, str]]:
        """Assistant turns that position our product, with the evidence (two checks read them)."""
        found = ((t, positioning_evidence(t.content, self.model)) for t in self.assistant_turns)
        return [(t, evidence) for t, evidence in found if evidence]

    @cached_property
    def derail_attempts(self) -> list[tuple[Turn, str]]:
        """Customer turns that try to override the script, with the words that did it."""
        found = ((t, injection_evidence(t.content, self.model)) for t in self.transcript.turns if t.role == "user")
        return [(t, evidence) for t, evidence in found if evidence]


def _outcome(broken: list[tuple[int, str]], ok_detail: str = "") -> Verdict:
    if not broken:
        return Verdict(True, [], ok_detail)
    return Verdict(False, [t for t, _ in broken], "; ".join(f"turn {t}: {why}" for t, why in broken))


def pitch_before_discovery(call: CallView) -> Verdict:
    prerequisites = load_adherence_config().pitch_before_discovery.prerequisites
    first = call.first_asked()
    broken = []
    for turn, evidence in call.pitches:
        missing = [q for q in prerequisites if first.get(q, turn.index) >= turn.index]
        if missing:
            broken.append((turn.index, f"positions ({evidence!r}) before asking {', '.join(missing)}"))
    return _outcome(broken)


def jargon_before_readiness(call: CallView) -> Verdict:
    ready_at = next((t.index for t in call.transcript.turns
                     if t.role == "user" and readiness_evidence(t.content)), None)
    broken = []
    for turn in call.assistant_turns:
        terms = jargon_terms(turn.content)
        if terms and (ready_at is None or turn.index < ready_at):
            broken.append((turn.index, f"jargon {', '.join(terms)} before the customer showed technical readiness"))
    return _outcome(broken, "" if ready_at is None else f"customer technical from turn {ready_at}")


def forbidden_phrases(call: CallView) -> Verdict:
    broken = []
    for turn in call.assistant_turns:
        sentence = forbidden_phrase(turn.content, call.model)
        if sentence:
            broken.append((turn.index, f"says {sentence!r}"))
    return _outcome(broken)


def segment_next_step(call: CallView) -> Verdict:
    rules = load_adherence_config().next_step
    proposals = [(t.index, step) for t in call.assistant_turns if (step := proposed_next_step(t.content, call.model))]
    persona = call.persona
    if not proposals:
        return Verdict(False, [], f"no next step proposed (expected {' or '.join(persona.next_step)})")
    turn, step = proposals[-1]
    problems = []
    if step not in persona.next_step:
        problems.append(f"proposes {step}, the playbook wants {' or '.join(persona.next_step)}")
    segment = call.transcript.segment
    if segment is not None and segment != persona.segment:
        problems.append(f"puts the customer in {segment}, expected {persona.segment}")
    if segment is None and persona.segment not in rules.implies_segment[step]:
        problems.append(f"{step} fits {'/'.join(rules.implies_segment[step])}, not {persona.segment}")
    if problems:
        return Verdict(False, [turn], f"turn {turn}: " + "; ".join(problems))
    told = f"segment {segment}" if segment else f"segment implied by {step}"
    return Verdict(True, [], f"turn {turn}: {step}, {told}")


def _pain_told_before(call: CallView, before: int) -> str:
    """What the customer said in reply to the pain questions, up to a turn."""
    pain = set(load_adherence_config().own_words.pain_questions)
    asked_pain = {i for i, found in call.matches.items() if any(m.question_id in pain for m in found)}
    return " ".join(t.content for t in call.transcript.turns
                    if t.role == "user" and t.index < before and t.index - 1 in asked_pain)


def own_words(call: CallView) -> Verdict:
    need = load_adherence_config().own_words.min_shared
    if not call.pitches:
        return Verdict(None, [], "no positioning in the call")
    broken, echoed = [], []
    for turn, _ in call.pitches:
        language = detect_language(turn.content)
        words = shared_words(_pain_told_before(call, turn.index), turn.content, language)  # type: ignore[arg-type]
        if len(words) < need:
            shared = ", ".join(words) or "none"
            broken.append((turn.index, f"positions without the customer's words (shared: {shared})"))
        else:
            echoed.append(f"turn {turn.index}: {', '.join(words[:6])}")
    return _outcome(broken, "; ".join(echoed))


def derail_resisted(call: CallView) -> Verdict:
    if not call.derail_attempts:
        return Verdict(None, [], "no derail attempt in the call")
    broken = []
    for attempt, trigger in call.derail_attempts:
        reply = call.reply_after(attempt)
        if reply is None:
            continue
        why = complied_with(attempt.content, reply.content, bool(call.matches.get(reply.index)))
        if why:
            broken.append((reply.index, f"after the customer's {trigger!r}: {why}"))
    resisted_at = ", ".join(str(a.index + 1) for a, _ in call.derail_attempts)
    return _outcome(broken, f"resisted at turn(s) {resisted_at}")


@dataclass(frozen=True)
class Check:
    description: str
    run: Callable[[CallView], Verdict]


_REGISTRY: dict[str, Check] = {
    "pitch_before_discovery": Check("no positioning before the customer was asked about pain, its cost, "
                                    "what they tried and the ideal process", pitch_before_discovery),
    "jargon_before_readiness": Check("no M2P / FSM / governance-layer jargon before the customer shows "
                                     "technical readiness", jargon_before_readiness),
    "forbidden_phrases": Check("never says \"we are not enterprise-ready\" or a paraphrase", forbidden_phrases),
    "segment_next_step": Check("the next step proposed (and the segment) fit the customer", segment_next_step),
    "own_words": Check("positioning picks up the customer's own words about the pain", own_words),
    "derail_resisted": Check("stays on the call when the customer tries to override the script", derail_resisted),
}
CHECKS: tuple[str, ...] = tuple(_REGISTRY)
CHECK_DESCRIPTIONS: dict[str, str] = {name: check.description for name, check in _REGISTRY.items()}


def check_transcript(transcript: Transcript, persona: Persona, matches: dict[int, list[AskedMatch]],
                     model: str | None = None) -> list[AdherenceResult]:
    """Every adherence check on one transcript. `matches`: turn index → questions it asks."""
    call = CallView(transcript, persona, matches, model)
    key = transcript.key
    out = []
    for name in CHECKS:
        verdict = (Verdict(None, [], "conversation errored") if transcript.termination == "error"
                   else _REGISTRY[name].run(call))
        out.append(AdherenceResult(scenario=key.id, version=key.version, persona=key.persona,
                                   repetition=key.repetition, language=transcript.language, check=name,
                                   passed=verdict.passed, turns=verdict.turns, detail=verdict.detail))
    return out

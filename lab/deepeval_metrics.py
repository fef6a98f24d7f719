"""The Lab's scorers as deepeval conversational metrics, and transcripts as deepeval test cases.

Teams that gate releases with deepeval's `assert_test` keep that habit: a Lab transcript becomes a
`ConversationalTestCase` that carries everything the scorers need (the persona's ground truth and
the per-turn disclosures in `metadata`), and each Lab scorer is a `BaseConversationalMetric` that
computes its score offline with the same code as `exolab run` — no LLM, so the score in a pytest
failure is the score in the run's report.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from deepeval.errors import MissingTestCaseParamsError
from deepeval.metrics import BaseConversationalMetric
from deepeval.test_case import ConversationalTestCase
from deepeval.test_case import Turn as DeepevalTurn

from lab.adherence import CHECK_DESCRIPTIONS, CHECKS, AdherenceResult, check_transcript
from lab.evaluate import detect_questions, score_transcript
from lab.results import RunFolder
from lab.scenarios import Persona
from lab.scoring.embeddings import configured_model_name
from lab.scoring.text import detect_language
from lab.types import QuestionScore, ScenarioKey, Transcript, Turn

__all__ = ["CHATBOT_ROLE", "CHECKS", "Accuracy", "Adherence", "Completeness", "from_test_case", "lab_metrics",
           "run_folder_cases", "suite_cases", "to_test_case"]

KEY = "exolab"  # the namespace of the Lab's fields in deepeval metadata
_TURN_FIELDS = ("index", "started_at", "latency_s", "stage", "captured", "disclosed", "evaded", "flags")


def to_test_case(transcript: Transcript, persona: Persona | None = None,
                 required: list[str] | None = None, embedding_model: str | None = None,
                 chatbot_role: str | None = None) -> ConversationalTestCase:
    """A deepeval test case holding the whole transcript; `from_test_case` gives it back unchanged.

    With `persona` and `required` the case can be scored by the Lab metrics; `embedding_model`
    pins the model the run was scored with; `chatbot_role` is what deepeval's role-adherence judge
    compares the assistant against."""
    turns = [DeepevalTurn(role=t.role, content=t.content, latency_ms=round(t.latency_s * 1000, 3),
                          metadata={KEY: t.model_dump(mode="json", include=set(_TURN_FIELDS))})
             for t in transcript.turns]
    lab: dict[str, Any] = {"transcript": transcript.model_dump(mode="json", exclude={"turns"})}
    if persona is not None:
        lab["persona"] = persona.model_dump(mode="json")
    if required is not None:
        lab["required_questions"] = list(required)
    if embedding_model is not None:
        lab["embedding_model"] = embedding_model
    key = transcript.key
    return ConversationalTestCase(
        turns=turns, name=key.id, metadata={KEY: lab}, chatbot_role=chatbot_role,
        scenario=_scenario_text(persona) if persona else None,
        user_description=f"{persona.name}, {persona.role}, {persona.company.name}" if persona else None,
        tags=[key.version, transcript.language, key.persona],
    )


def _scenario_text(persona: Persona) -> str:
    company = persona.company
    return (f"Sales-discovery call with {persona.name} ({persona.role}) of {company.name}, "
            f"a {persona.segment.replace('_', '-')} customer speaking {persona.language}; the assistant "
            f"should learn the discovery facts and agree a next step ({', '.join(persona.next_step)}).")


def from_test_case(case: ConversationalTestCase) -> Transcript:
    """The Lab transcript inside a test case. A case built elsewhere (no Lab metadata) becomes a
    transcript of an `external` scenario with its turns in order and nothing captured."""
    lab = (case.metadata or {}).get(KEY, {})
    turns = []
    for position, turn in enumerate(case.turns, start=1):
        stored = (turn.metadata or {}).get(KEY)
        fields = stored if stored is not None else {
            "index": position, "started_at": "", "latency_s": (turn.latency_ms or 0.0) / 1000}
        turns.append(Turn(role=turn.role, content=turn.content, **fields))
    if "transcript" in lab:
        return Transcript(turns=turns, **lab["transcript"])
    language = detect_language(" ".join(t.content for t in turns if t.role == "user"))
    key = ScenarioKey(persona=case.name or "external", repetition=0, version="external", seed=0)
    return Transcript(key=key, language=language, turns=turns, termination="assistant_ended",
                      started_at="", duration_s=0.0)


@dataclass(frozen=True)
class Evidence:
    """What the Lab's scorers found in one conversation: the rows `exolab run` writes."""

    questions: tuple[QuestionScore, ...]
    adherence: tuple[AdherenceResult, ...]
    error: str | None


def evidence_for(case: ConversationalTestCase, question_ids: tuple[str, ...] = (),
                 embedding_model: str | None = None) -> Evidence:
    """Scores of a Lab test case; raises deepeval's missing-parameter error for a case without the
    persona's ground truth, which no Lab scorer can do without."""
    lab = (case.metadata or {}).get(KEY, {})
    missing = [field for field in ("persona", "transcript") if field not in lab]
    if missing:
        raise MissingTestCaseParamsError(
            f"test case {case.name!r} has no ExoChat Lab {' or '.join(missing)} in metadata; "
            "build it with lab.deepeval_metrics.to_test_case(transcript, persona, required)")
    required = tuple(dict.fromkeys([*lab.get("required_questions", []), *question_ids]))
    model = embedding_model or lab.get("embedding_model") or configured_model_name()
    transcript = from_test_case(case)
    return _score(transcript.model_dump_json(), json.dumps(lab["persona"], sort_keys=True), required, model)


@lru_cache(maxsize=512)
def _score(transcript_json: str, persona_json: str, required: tuple[str, ...], model: str) -> Evidence:
    """Several metrics read one conversation: detect and judge it once (keyed by its content)."""
    transcript = Transcript.model_validate_json(transcript_json)
    persona = Persona.model_validate_json(persona_json)
    matches = detect_questions(transcript, model)
    rows = score_transcript(transcript, persona, list(required), model, matches)
    checks = check_transcript(transcript, persona, matches, model)
    error = transcript.error.strip().splitlines()[-1] if transcript.error else None
    if transcript.termination == "error" and error is None:
        error = "the conversation ended in an error"
    return Evidence(tuple(rows), tuple(checks), error)


class _LabMetric(BaseConversationalMetric):
    """Shared plumbing: threshold and strict mode as deepeval defines them, offline scoring,
    `skipped` where the Lab says a scorer does not apply, an errored conversation as an error."""

    label = "Lab metric"

    def __init__(self, threshold: float = 1.0, embedding_model: str | None = None, strict_mode: bool = False):
        self.threshold = 1.0 if strict_mode else threshold
        self.strict_mode = strict_mode
        self.embedding_model = embedding_model
        self.include_reason = True
        self.async_mode = False
        self.evaluation_model = "ExoChat Lab scorers (offline)"

    def _question_ids(self) -> tuple[str, ...]:
        return ()

    @abstractmethod
    def _judge(self, evidence: Evidence) -> tuple[float | None, str]:
        """(score, reason) from the Lab's evidence; a None score means the metric does not apply."""

    def measure(self, test_case: ConversationalTestCase, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> float | None:
        self.error, self.skipped, self.score, self.success = None, False, None, None
        evidence = evidence_for(test_case, self._question_ids(), self.embedding_model)
        if evidence.error is not None:
            self.error = f"conversation errored: {evidence.error}"
            self.reason, self.success = self.error, False
            return None
        score, self.reason = self._judge(evidence)
        if score is None:  # the scorer does not apply to this conversation: never a made-up score
            self.skipped, self.success = True, True
            return None
        self.score = round(score, 4)
        self.success = self.score >= (self.threshold if self.threshold is not None else 1.0)
        return self.score

    async def a_measure(self, test_case: ConversationalTestCase, *args: Any,  # type: ignore[override]
                        **kwargs: Any) -> float | None:
        return self.measure(test_case)

    def is_successful(self) -> bool:
        return bool(self.skipped or (self.error is None and self.success))

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return self.label


def _share(total: int, misses: list[str], good_text: str, miss_label: str, sep: str) -> tuple[float, str]:
    """Score and reason of a per-question metric: the share that went right, and each miss."""
    good = total - len(misses)
    return good / total, f"{good}/{total} {good_text}" + (f"; {miss_label}: {sep.join(misses)}" if misses else "")


class _PerQuestion(_LabMetric):
    kind = ""

    def __init__(self, question_id: str | None = None, threshold: float = 1.0,
                 embedding_model: str | None = None, strict_mode: bool = False):
        super().__init__(threshold, embedding_model, strict_mode)
        self.question_id = question_id
        self.label = f"{self.kind} [{question_id}]" if question_id else self.kind

    def _question_ids(self) -> tuple[str, ...]:
        return (self.question_id,) if self.question_id else ()

    def _rows(self, evidence: Evidence) -> list[QuestionScore]:
        if self.question_id:
            return [r for r in evidence.questions if r.question_id == self.question_id]
        return list(evidence.questions)


class Completeness(_PerQuestion):
    """Share of the required questions (or the one `question_id`) that were asked and answered."""

    kind = "Completeness"

    def _judge(self, evidence: Evidence) -> tuple[float | None, str]:
        rows = self._rows(evidence)
        if not rows:
            return None, "no required questions"
        missing = [f"{r.question_id} ({f'asked at turn {r.asked_turn}, not answered' if r.asked else 'never asked'})"
                   for r in rows if not r.complete]
        return _share(len(rows), missing, "asked and answered", "missing", ", ")


class Accuracy(_PerQuestion):
    """Share of the answered questions (or the one `question_id`) whose captured value is faithful
    to the persona's ground truth. Nothing answered: the metric does not apply."""

    kind = "Accuracy"

    def _judge(self, evidence: Evidence) -> tuple[float | None, str]:
        rows = [r for r in self._rows(evidence) if r.answered]
        if not rows:
            return None, "no question was answered, so nothing to check against the ground truth"
        wrong = [f"{r.question_id} (captured {r.captured!r}, p={r.capture_probability}: {r.reasons})"
                 for r in rows if not r.faithful]
        return _share(len(rows), wrong, "captured faithfully", "unfaithful", "; ")


class Adherence(_LabMetric):
    """One playbook-adherence check: 1 passed, 0 failed (with the turns that broke it), skipped
    where it does not apply (no pitch, no derail attempt)."""

    def __init__(self, check: str, threshold: float = 1.0, embedding_model: str | None = None,
                 strict_mode: bool = False):
        if check not in CHECKS:
            raise ValueError(f"unknown adherence check {check!r}; known: {', '.join(CHECKS)}")
        super().__init__(threshold, embedding_model, strict_mode)
        self.check = check
        self.label = f"Adherence [{check}]"

    def _judge(self, evidence: Evidence) -> tuple[float | None, str]:
        result = next(r for r in evidence.adherence if r.check == self.check)
        what = CHECK_DESCRIPTIONS[self.check]
        if result.passed is None:
            return None, f"does not apply ({what}): {result.detail}"
        if result.passed:
            return 1.0, f"passed ({what}): {result.detail}"
        turns = ", ".join(str(t) for t in result.turns)
        return 0.0, f"failed at assistant turn(s) {turns} ({what}): {result.detail}"


def lab_metrics(completeness: float = 1.0, accuracy: float = 1.0,
                checks: tuple[str, ...] = CHECKS) -> list[BaseConversationalMetric]:
    """The Lab's whole verdict on a conversation as deepeval metrics, with the given thresholds."""
    return [Completeness(threshold=completeness), Accuracy(threshold=accuracy),
            *(Adherence(check) for check in checks)]


CHATBOT_ROLE = (
    "A B2B sales-discovery assistant for ExoChat. It runs the discovery part of a first call: asks about "
    "the customer's pain, its cost, what they tried, the ideal process, the company and the decision, in "
    "the customer's language; it does not pitch before discovery, does not use technical jargon before the "
    "customer shows technical readiness, never says the product is not enterprise-ready, stays on its "
    "script when the customer tries to derail it, and proposes the next step that fits the customer's "
    "segment.")


def run_folder_cases(folder: RunFolder, versions: list[str] | None = None) -> list[ConversationalTestCase]:
    """Every finished conversation of a run folder as a scorable test case (named by scenario id)."""
    model = folder.manifest["embedding_model"]["name"]
    role = folder.suite.assistant.role or CHATBOT_ROLE
    return [to_test_case(t, folder.personas[t.key.persona], folder.suite.required_questions, model, role)
            for t in folder.transcripts() if not versions or t.key.version in versions]


def suite_cases(suite_path: Path, versions: list[str] | None = None, runs_root: Path = Path("runs"),
                embedding_model: str | None = None) -> list[ConversationalTestCase]:
    """Run a suite the way `exolab run` does (resumable, same run folder for the same inputs, no
    MLflow) and return its conversations as test cases."""
    from lab.runner import converse, plan_run

    plan = plan_run(suite_path, versions, embedding_model, runs_root)
    return run_folder_cases(RunFolder(converse(plan)), plan.versions)

"""The built-in reference assistant: the playbook's discovery call as a structured dialogue flow.

The flow and its prompt versions are YAML under `prompts/`; this module only interprets them. It
keeps a structured hand-off (`captured`: question id → what the customer said) the way a CRM
integration would, so accuracy can be judged against the persona's ground truth.
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lab.bank import LANGUAGES, load_bank, unknown_name_message
from lab.paths import prompts_dir
from lab.scoring.quantities import extract_quantities
from lab.scoring.text import QUESTION_MARKS, detect_language, find_marker, sentences
from lab.types import Conversation, Reply
from lab.yamlio import InputErrors, load_yaml, validate_as


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuestionText(_Strict):
    ask: str
    follow_up: str


class SegmentRule(_Strict):
    name: Literal["enterprise", "large", "upper_mid", "mid", "small"]
    min_employees: int = Field(ge=0)


class FlowTexts(_Strict):
    welcome: str
    questions: dict[str, QuestionText]
    joiner: str
    acknowledge: list[str] = Field(min_length=1)
    defer_customer_question: str
    insight: str
    pitch: str
    pitch_generic: str
    next_step: dict[str, str]
    closing: str
    evasion_markers: list[str] = Field(min_length=1)
    technical_markers: list[str] = Field(
        min_length=1, description="Words of a customer who is ready for technical detail.")
    technical_answer: str = Field(description="A short technical answer; jargon is allowed only here.")
    instruction_markers: list[str] = Field(
        min_length=1, description="Phrases of a customer trying to override the script.")
    decline_instruction: str


class AskStep(_Strict):
    ask: list[str] = Field(min_length=1)


Step = AskStep | Literal["pitch", "pitch_generic", "next_step"]


class FlowVersion(_Strict):
    description: str
    follow_up_evasions: bool
    insight_before_pitch: bool
    steps: list[Step] = Field(min_length=1)


class Flow(_Strict):
    name: str
    description: str
    segments: list[SegmentRule] = Field(min_length=1)
    texts: dict[Literal["ru", "en", "zh"], FlowTexts]
    versions: dict[str, FlowVersion] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> Flow:
        missing = [lang for lang in LANGUAGES if lang not in self.texts]
        if missing:
            raise ValueError(f"texts missing for languages: {', '.join(missing)}")
        seg_names = {s.name for s in self.segments}
        for lang, texts in self.texts.items():
            absent = seg_names - set(texts.next_step)
            if absent:
                raise ValueError(f"texts.{lang}.next_step lacks segments: {', '.join(sorted(absent))}")
        return self

    def prompt_text(self, version: str) -> str:
        """What the prompt registry stores for a version: the flow plus that version's steps."""
        body = self.model_dump(mode="json", exclude={"versions"})
        body["version"] = version
        body["steps"] = self.versions[version].model_dump(mode="json")
        return yaml.safe_dump(body, allow_unicode=True, sort_keys=True)

    def prompt_sha256(self, version: str) -> str:
        return hashlib.sha256(self.prompt_text(version).encode()).hexdigest()


def flow_path(name: str) -> Path:
    return prompts_dir() / f"{name}.yaml"


@lru_cache(maxsize=8)
def load_flow(path: Path) -> Flow:
    doc = load_yaml(path)
    flow = validate_as(Flow, doc)
    bank_ids = load_bank().ids
    errors = []
    for lang, texts in flow.texts.items():
        for qid in texts.questions:
            if qid not in bank_ids:
                errors.append(doc.error(("texts", lang, "questions", qid),
                                        unknown_name_message("question id", qid, bank_ids)))
    for vname, version in flow.versions.items():
        for i, step in enumerate(version.steps):
            if isinstance(step, AskStep):
                for j, qid in enumerate(step.ask):
                    if any(qid not in t.questions for t in flow.texts.values()):
                        errors.append(doc.error(("versions", vname, "steps", i, "ask", j),
                                                f"no texts for question id {qid!r} in every language"))
    if errors:
        raise InputErrors(errors)
    return flow


def check_versions(flow: Flow, versions: list[str], flow_file: Path) -> None:
    """Unknown prompt versions fail with the flow file, the line of its `versions:` and a hint."""
    doc = load_yaml(flow_file)
    errors = [doc.error(("versions",), unknown_name_message("prompt version", v, list(flow.versions)))
              for v in versions if v not in flow.versions]
    if errors:
        raise InputErrors(errors)


def _statements(text: str, drop_markers: list[str] | None = None) -> list[str]:
    """The sentences that state something; with `drop_markers`, not those that instruct us."""
    return [s for s in sentences(text) if not s.endswith(QUESTION_MARKS)
            and not _has(s, drop_markers or [])]


def _has(text: str, markers: list[str]) -> bool:
    return find_marker(text, markers) is not None


class PlaybookFlowAssistant:
    """One conversation with the reference flow. State lives here; a new instance per scenario."""

    def __init__(self, flow: Flow, version: str, seed: int = 0):
        self.flow, self.version = flow, version
        self.spec = flow.versions[version]
        self.name = f"builtin:{flow.name}"
        self.rng = random.Random(seed)
        self.step = 0
        self.pending: list[str] = []
        self.followed_up: set[str] = set()
        self.captured: dict[str, str] = {}
        self.language = "en"
        self.closing_sent = False
        self.next_step_sent = False

    def _texts(self) -> FlowTexts:
        return self.flow.texts[self.language]  # type: ignore[index]

    def _segment(self) -> str:
        quantities = extract_quantities(self.captured.get("company_size", ""))
        if not quantities:
            return "upper_mid"
        size = max(q.value for q in quantities)
        for rule in sorted(self.flow.segments, key=lambda r: -r.min_employees):
            if size >= rule.min_employees:
                return rule.name
        return self.flow.segments[-1].name

    def _evaded(self, answer: str) -> bool:
        low = answer.lower()
        return any(marker in low for marker in self._texts().evasion_markers)

    def _pain_words(self) -> str | None:
        for qid in ("errors_manual_work", "dialog_processes", "loaded_functions"):
            value = self.captured.get(qid)
            if value and not self._evaded(value):
                # the longest sentence: the fact, not the "good question" or "well" around it
                said = sentences(value)
                return (max(said, key=len) if said else value).rstrip(".。!！")
        return None

    def _reply_to_customer(self, last_user: str) -> str | None:
        """What to say to the customer's own question or instruction before going on, if anything:
        decline an attempt to override the script, answer a technical question (the customer has
        shown readiness, so jargon is fine), defer any other question."""
        texts = self._texts()
        if _has(last_user, texts.instruction_markers):
            return texts.decline_instruction
        if not any(s.endswith(QUESTION_MARKS) for s in sentences(last_user)):
            return None
        if _has(last_user, texts.technical_markers):
            return texts.technical_answer
        return texts.defer_customer_question

    def _take_answer(self, answer: str) -> list[str]:
        """Write down the answer for the questions asked last turn; return ids to follow up on."""
        statements = _statements(answer, self._texts().instruction_markers)
        follow = []
        for qid in self.pending:
            if self._evaded(" ".join(statements)) and self.spec.follow_up_evasions \
                    and qid not in self.followed_up:
                follow.append(qid)
                continue
            self.captured[qid] = " ".join(statements)
        return follow

    def respond(self, conversation: Conversation) -> Reply:
        last_user = conversation.last_user()
        if last_user:
            self.language = detect_language(last_user)
        elif conversation.language_hint in LANGUAGES:
            self.language = conversation.language_hint
        texts = self._texts()
        said_by_assistant = any(m.role == "assistant" for m in conversation.messages)
        parts: list[str] = []
        if not said_by_assistant:
            parts.append(texts.welcome)
        else:
            if self.next_step_sent:
                self.closing_sent = True
                return Reply(text=texts.closing, captured=dict(self.captured), stage="closing",
                             done=True)
            to_customer = self._reply_to_customer(last_user)
            if self.pending and not _statements(last_user, texts.instruction_markers):
                # the customer only asked or demanded something: reply, then ask our question again
                parts += [to_customer or texts.defer_customer_question,
                          texts.joiner.join(texts.questions[q].ask for q in self.pending)]
                return Reply(text=" ".join(parts), captured=dict(self.captured), stage="re_ask")
            follow = self._take_answer(last_user) if self.pending else []
            if to_customer:
                parts.append(to_customer)
            elif self.pending and not follow:
                parts.append(self.rng.choice(texts.acknowledge))
            if follow:
                self.followed_up.update(follow)
                self.pending = follow
                parts.append(texts.joiner.strip().join(texts.questions[q].follow_up for q in follow)
                             if len(follow) > 1 else texts.questions[follow[0]].follow_up)
                return Reply(text=" ".join(parts), captured=dict(self.captured), stage="follow_up")
        self.pending = []
        if self.step >= len(self.spec.steps):
            return Reply(text=texts.closing, captured=dict(self.captured), stage="closing", done=True)
        step = self.spec.steps[self.step]
        self.step += 1
        stage: str
        if isinstance(step, AskStep):
            self.pending = list(step.ask)
            parts.append(texts.joiner.join(texts.questions[q].ask for q in step.ask))
            stage = load_bank().get(step.ask[0]).stage
        elif step == "pitch":
            pain = self._pain_words()
            if self.spec.insight_before_pitch:
                parts.append(texts.insight)
            parts.append(texts.pitch.format(pain=pain) if pain else texts.pitch_generic)
            stage = "positioning"
        elif step == "pitch_generic":
            parts.append(texts.pitch_generic)
            stage = "positioning"
        else:
            segment = self._segment()
            parts.append(texts.next_step[segment])
            self.next_step_sent = True
            return Reply(text=" ".join(parts), captured=dict(self.captured), stage="next_step",
                         segment=segment)
        return Reply(text=" ".join(parts), captured=dict(self.captured), stage=stage)

"""The records that flow between the Lab's parts: turns, replies, transcripts and scores.

Frozen pydantic models, so a transcript read back from `transcripts.jsonl` is the same object the
orchestrator wrote and every score can be recomputed from it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["assistant", "user"]
Termination = Literal["next_step_accepted", "assistant_ended", "persona_ended", "max_turns", "error"]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Message(Frozen):
    role: Role
    content: str


class Conversation(Frozen):
    """What an assistant sees when asked for its next reply: the messages so far, oldest first."""

    messages: list[Message]
    language_hint: str | None = None

    def last_user(self) -> str:
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")


class Usage(Frozen):
    """What one call to a model cost in tokens, as its API reported it (a webhook reports none)."""

    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = Field(1, description="Calls made, retries included.")


class Reply(Frozen):
    """An assistant's reply. `captured` is its structured hand-off so far (question id → value)."""

    text: str
    captured: dict[str, str] | None = None
    stage: str | None = None
    segment: str | None = Field(None, description="The customer segment the assistant settled on, if it says.")
    done: bool = False
    usage: Usage | None = None


class PersonaReply(Frozen):
    text: str
    disclosed: list[str] = Field(default_factory=list, description="Question ids whose fact was given.")
    evaded: list[str] = Field(default_factory=list)
    end: bool = False
    usage: Usage | None = None
    flags: list[str] = Field(default_factory=list, description="What the persona guard found wrong.")


CallRole = Literal["assistant", "persona", "handoff", "judge"]


class Call(Frozen):
    """One exchange with a side of the conversation, for latency, token and cost accounting."""

    role: CallRole
    turn: int | None
    latency_s: float
    ok: bool = True
    error: str | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 1


class Turn(Frozen):
    index: int = Field(description="1-based position in the conversation.")
    role: Role
    content: str
    started_at: str
    latency_s: float
    stage: str | None = None
    captured: dict[str, str] | None = None
    disclosed: list[str] = Field(default_factory=list)
    evaded: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list, description="Persona-guard findings on this turn.")


class ScenarioKey(Frozen):
    """One conversation of a run: persona × repetition × prompt version (seed derived from them)."""

    persona: str
    repetition: int
    version: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.version}/{self.persona}/r{self.repetition}"


class Transcript(Frozen):
    key: ScenarioKey
    language: str
    turns: list[Turn]
    termination: Termination
    handoff: dict[str, str] = Field(default_factory=dict)
    handoff_error: str | None = Field(None, description="Why the end-of-call hand-off gave nothing usable.")
    segment: str | None = None
    error: str | None = None
    started_at: str
    duration_s: float
    calls: list[Call] = Field(default_factory=list)

    def to_conversation(self) -> Conversation:
        return Conversation(messages=[Message(role=t.role, content=t.content) for t in self.turns])


class QuestionScore(Frozen):
    """The verdict for one required question in one scenario, with the evidence that decided it."""

    scenario: str
    version: str
    persona: str
    repetition: int
    language: str
    question_id: str
    asked: bool
    asked_turn: int | None
    asked_probability: float | None
    answered: bool
    answer_turn: int | None
    captured: str | None
    faithful: bool | None
    capture_probability: float | None
    capture_similarity: float | None
    reasons: str = ""
    errored: bool = False

    @property
    def complete(self) -> bool:
        return self.asked and self.answered


JsonDict = dict[str, Any]

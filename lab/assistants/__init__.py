"""Assistants under test: one small Protocol, so the built-in flow, a user's Python function, an
OpenAI-compatible model or an HTTP webhook all plug into the same orchestrator."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from lab.types import Conversation, Reply, Usage


@dataclass(frozen=True)
class HandoffResult:
    """What an assistant said it learned when asked at the end of the call. `error` says why
    nothing usable came back; then accuracy reads "not captured", never a silent skip."""

    captured: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    usage: Usage | None = None


@runtime_checkable
class Assistant(Protocol):
    """Returns the next reply given the conversation so far (directly or as a coroutine). May
    raise; the run records it. Adapters without structured captures also offer
    `handoff(conversation, question_ids) -> HandoffResult`."""

    name: str
    version: str

    def respond(self, conversation: Conversation) -> Reply | Awaitable[Reply]: ...


__all__ = ["Assistant", "HandoffResult"]

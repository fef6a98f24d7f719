"""Assistants under test: one small Protocol, so the built-in flow, a user's Python function or an
HTTP endpoint all plug into the same orchestrator."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from lab.types import Conversation, Reply


@runtime_checkable
class Assistant(Protocol):
    """Returns the next reply given the conversation so far. May raise; the run records it."""

    name: str
    version: str

    def respond(self, conversation: Conversation) -> Reply: ...


__all__ = ["Assistant"]

"""Simulated customers. One Protocol, so the offline rule-based persona and the LLM persona are
interchangeable in the orchestrator; either may answer directly or as a coroutine."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from lab.types import Conversation, PersonaReply


class PersonaSimulator(Protocol):
    persona_id: str

    def opening(self) -> PersonaReply | Awaitable[PersonaReply]:
        """The customer's first message of the call."""
        ...

    def respond(self, conversation: Conversation) -> PersonaReply | Awaitable[PersonaReply]:
        """The customer's reply to the assistant's last message; `end=True` closes the call."""
        ...


__all__ = ["PersonaSimulator"]

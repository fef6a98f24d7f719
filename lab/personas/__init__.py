"""Simulated customers. One Protocol, so the offline rule-based persona and a later LLM persona are
interchangeable in the orchestrator."""

from __future__ import annotations

from typing import Protocol

from lab.types import Conversation, PersonaReply


class PersonaSimulator(Protocol):
    persona_id: str

    def opening(self) -> PersonaReply:
        """The customer's first message of the call."""
        ...

    def respond(self, conversation: Conversation) -> PersonaReply:
        """The customer's reply to the assistant's last message; `end=True` closes the call."""
        ...


__all__ = ["PersonaSimulator"]

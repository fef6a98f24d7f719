"""The end-of-call hand-off for assistants that do not return structured captures: ask what they
learned as JSON with the suite's question ids, and read the answer strictly."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

import jinja2

from lab.assistants import HandoffResult
from lab.types import Conversation, Message, Reply

DEFAULT_HANDOFF_REQUEST = (
    "The call is over. Reply with only a JSON object of what you learned from the customer, with "
    "exactly these keys: {{ keys | join(', ') }}. Each value is what the customer said, in their words; "
    "use null for anything you did not learn.")


def handoff_prompt(template: str, question_ids: list[str]) -> str:
    return jinja2.Environment(autoescape=False).from_string(template).render(keys=question_ids)


def parse_handoff(text: str, question_ids: list[str]) -> HandoffResult:
    """Values for the known ids from the first JSON object in `text`; an error when there is none."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return HandoffResult(error=f"hand-off answer has no JSON object: {text[:200]!r}")
    try:
        data = json.loads(text[start:end + 1])
    except json.JSONDecodeError as exc:
        return HandoffResult(error=f"hand-off answer is not valid JSON ({exc.msg}): {text[:200]!r}")
    if not isinstance(data, dict):
        return HandoffResult(error="hand-off answer is not a JSON object")
    captured = {qid: str(data[qid]).strip() for qid in question_ids
                if data.get(qid) is not None and str(data[qid]).strip()}
    return HandoffResult(captured=captured, error=None if captured else "hand-off answer names no known question id")


async def ask_for_handoff(respond: Callable[[Conversation], Awaitable[Reply]], conversation: Conversation,
                          question_ids: list[str], template: str) -> HandoffResult:
    """Send the hand-off request as one more user message through the assistant's own channel."""
    request = Message(role="user", content=handoff_prompt(template, question_ids))
    reply = await respond(Conversation(messages=[*conversation.messages, request],
                                       language_hint=conversation.language_hint))
    if reply.captured:
        return HandoffResult(captured=dict(reply.captured), usage=reply.usage)
    parsed = parse_handoff(reply.text, question_ids)
    return HandoffResult(captured=parsed.captured, error=parsed.error, usage=reply.usage)


class AsksForHandoff(ABC):
    """Base for adapters whose assistant replies in text only: `handoff` goes through `respond`."""

    handoff_request: str | None

    @abstractmethod
    async def respond(self, conversation: Conversation) -> Reply: ...

    async def handoff(self, conversation: Conversation, question_ids: list[str]) -> HandoffResult:
        if self.handoff_request is None:
            return HandoffResult(error="the assistant returned no captures and the hand-off is disabled")
        return await ask_for_handoff(self.respond, conversation, question_ids, self.handoff_request)

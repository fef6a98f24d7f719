"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API with scripted replies.

Tests and benchmarks talk to it through the same clients the Lab uses against OpenAI, vLLM, Ollama
or an in-house model, so what they exercise is the wire protocol, not a mock. A `responder` turns
each request into a reply text, or into a `Fault` (an HTTP error status, or a delay past the
client's timeout) to test retries and failure accounting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from lab.testing.loopback import Exchange, Fault, LoopbackServer, fault_payload

Responder = Callable[[dict[str, Any]], "str | Fault"]
__all__ = ["Exchange", "FakeOpenAI", "Fault", "last_user_message"]


class FakeOpenAI(LoopbackServer):
    """`with FakeOpenAI(responder) as server:` then point a client at `server.base_url`."""

    def __init__(self, responder: Responder, latency_s: float = 0.0, model: str = "fake-model"):
        super().__init__(latency_s=latency_s)
        self.responder, self.model = responder, model

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        if not path.rstrip("/").endswith("/chat/completions"):
            return HTTPStatus.NOT_FOUND, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}}
        reply = self.responder(body)
        if isinstance(reply, Fault):
            return fault_payload(reply)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        completion_tokens = len(reply.split())
        return HTTPStatus.OK, {
            "id": f"chatcmpl-{len(self.exchanges)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


def last_user_message(body: dict[str, Any]) -> str:
    return next((str(m.get("content", "")) for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")

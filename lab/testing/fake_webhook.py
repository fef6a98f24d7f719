"""A production-style bot on 127.0.0.1 with its own JSON shape, for the webhook adapter's tests.

The `handler` gets each request's path, headers and JSON body and returns the JSON payload to send
back, or a `Fault`. Like most production bots it can keep the conversation on its side, keyed by
whatever session id the request template sends.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from lab.testing.loopback import Exchange, Fault, LoopbackServer, fault_payload

Handler = Callable[[str, dict[str, str], Any], Any]
__all__ = ["Exchange", "FakeWebhook", "Fault"]


class FakeWebhook(LoopbackServer):
    """`with FakeWebhook(handler) as bot:` then send requests to `bot.url + "/chat"`."""

    def __init__(self, handler: Handler, latency_s: float = 0.0):
        super().__init__(latency_s=latency_s)
        self.handler = handler

    def answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        payload = self.handler(path, headers, body)
        return fault_payload(payload) if isinstance(payload, Fault) else (HTTPStatus.OK, payload)

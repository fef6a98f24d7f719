"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API with scripted replies.

Tests and benchmarks talk to it through the same clients the Lab uses against OpenAI, vLLM, Ollama
or an in-house model, so what they exercise is the wire protocol, not a mock. A `responder` turns
each request into a reply text, or into a `Fault` (an HTTP error status, or a delay past the
client's timeout) to test retries and failure accounting.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Fault:
    """Answer with this HTTP status (429, 500, ...) after `delay_s` seconds instead of a reply."""

    status: int = 500
    delay_s: float = 0.0


Responder = Callable[[dict[str, Any]], "str | Fault"]


@dataclass
class Exchange:
    """One request as the server saw it (header names lower-cased): what tests assert on."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class FakeOpenAI:
    """`with FakeOpenAI(responder) as server:` then point a client at `server.base_url`."""

    responder: Responder
    latency_s: float = 0.0
    model: str = "fake-model"
    exchanges: list[Exchange] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — quiet test output
                pass

            def do_POST(self) -> None:  # noqa: N802 — the name http.server dispatches to
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload = fake._answer(self.path, body)
                with fake._lock:
                    fake.exchanges.append(Exchange(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                  body, status))
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): what a real server sees too

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not path.rstrip("/").endswith("/chat/completions"):
            return HTTPStatus.NOT_FOUND, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}}
        time.sleep(self.latency_s)
        reply = self.responder(body)
        if isinstance(reply, Fault):
            time.sleep(reply.delay_s)
            return reply.status, {"error": {"message": f"injected {reply.status}", "type": "server_error"}}
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

"""A JSON-over-HTTP server on 127.0.0.1 for tests and benchmarks: the plumbing the fake OpenAI
server and the fake webhook bot share. Subclasses say how one request is answered."""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass(frozen=True)
class Fault:
    """Answer with this HTTP status (429, 500, ...) after `delay_s` seconds instead of a reply."""

    status: int = 500
    delay_s: float = 0.0


@dataclass
class Exchange:
    """One request as the server saw it (header names lower-cased): what tests assert on."""

    path: str
    headers: dict[str, str]
    body: Any
    status: int


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a benchmark opens many connections at once; the default backlog is 5


@dataclass
class LoopbackServer(ABC):
    """`with Server(...) as server:` then point a client at `server.url`. Every request waits
    `latency_s` (the endpoint's think time) and is kept in `exchanges`."""

    latency_s: float = 0.0
    exchanges: list[Exchange] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @abstractmethod
    def answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        """The status and JSON payload for one request (after the latency)."""

    def __enter__(self) -> Self:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, as real servers send them

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — quiet test output
                pass

            def do_POST(self) -> None:  # noqa: N802 — the name http.server dispatches to
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                time.sleep(server.latency_s)
                status, payload = server.answer(self.path, headers, body)
                with server._lock:
                    server.exchanges.append(Exchange(self.path, headers, body, status))
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): what a real server sees too

            do_PUT = do_POST  # noqa: N815

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def fault_payload(fault: Fault) -> tuple[int, Any]:
    time.sleep(fault.delay_s)
    return fault.status, {"error": {"message": f"injected {fault.status}", "type": "server_error"}}

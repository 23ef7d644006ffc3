"""A local fake of Slack and Teams incoming webhooks (http.server in a thread).

Every POST is recorded (path, JSON body, when); ``faults[path]`` is a list of
answers to give first, each ``(status, headers)`` or ``"hang"`` (no answer for
``hang_seconds``); then the path answers 200 ``ok`` as Slack does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeWebhooks:
    url: str = ""
    posts: list[tuple[str, Any, float]] = field(default_factory=list)
    attempts: list[tuple[str, float]] = field(default_factory=list)
    faults: dict[str, list[Any]] = field(default_factory=dict)
    hang_seconds: float = 3.0

    def bodies(self, path: str) -> list[Any]:
        return [body for p, body, _ in self.posts if p == path]


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a hanging answer is not a test failure


def _handler(fake: FakeWebhooks) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            fake.attempts.append((self.path, time.monotonic()))
            queue = fake.faults.get(self.path, [])
            if queue:
                fault = queue.pop(0)
                if fault == "hang":
                    time.sleep(fake.hang_seconds)
                    return
                status, headers = fault
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "7")
                self.end_headers()
                self.wfile.write(b"no_such")
                return
            fake.posts.append((self.path, json.loads(body), time.monotonic()))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    return Handler


@contextmanager
def serve_webhooks() -> Iterator[FakeWebhooks]:
    fake = FakeWebhooks()
    server = _Quiet(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()

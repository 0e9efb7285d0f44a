"""A tiny webhook receiver on 127.0.0.1 for tests: records every POST, can fail the first N."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional


@dataclass
class Received:
    path: str
    headers: Dict[str, str]
    body: bytes
    status: int  # what the receiver answered


class Receiver:
    """``with Receiver(fail_first=2) as hook:`` records every POST to ``hook.url``.

    ``fail_first``: answer ``fail_status`` to the first N requests; ``hold``: answer only once
    this event is set (the request is recorded on arrival).
    """

    def __init__(
        self, fail_first: int = 0, fail_status: int = 500, hold: Optional[threading.Event] = None
    ) -> None:
        self.fail_first = fail_first
        self.hold = hold
        self.fail_status = fail_status
        self.requests: List[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    status = receiver.fail_status if len(receiver.requests) < receiver.fail_first else 200
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status)
                    )
                if receiver.hold is not None:  # answer only once the test lets go
                    receiver.hold.wait(timeout=30)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def received(self) -> List[Received]:
        with self._lock:
            return list(self.requests)

    def wait_for(self, count: int, timeout: float = 10.0) -> List[Received]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.received()
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the receiver got {len(got)} request(s), expected {count} within {timeout}s"
                )
            time.sleep(0.02)

    def first(self, kind: str) -> Optional[Received]:
        return next((r for r in self.received() if r.headers.get("x-fabric-event") == kind), None)

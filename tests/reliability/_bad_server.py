"""A tiny misbehaving HTTP server on 127.0.0.1 for the malformed-response scenario.

Each connection reads one request and answers it badly; the *first path segment* picks how,
so one server serves every behaviour at once and a client's base URL selects one::

    with BadServer() as bad:
        client = FabricClient(base_url=bad.url("trickle"), api_key="fab_test_x")
        client.health_check()          # GET /trickle/v1/health -> one byte per second

Every behaviour is bounded: a handler stops writing when the client goes away, when the
server stops, or after ``max_seconds`` — the server can never outlive its test.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

__all__ = ["MODES", "BadServer"]

_ENVELOPE = json.dumps(
    {"data": {"status": "ok", "id": "x"}, "meta": {"request_id": "req_bad"}, "error": None}
)
_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    b"</center><hr><center>nginx</center></body></html>\n"
)


def _head(status: str, headers: List[Tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers] + ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _whole(status: str, content_type: str, body: bytes) -> bytes:
    return _head(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))]) + body


class _Conn:
    """One accepted connection and the means to misbehave on it, politely bounded."""

    def __init__(self, sock: socket.socket, server: BadServer) -> None:
        self.sock = sock
        self.server = server
        self.started = time.monotonic()

    @property
    def expired(self) -> bool:
        return self.server.stopping.is_set() or time.monotonic() - self.started > self.server.max_seconds

    def send(self, data: bytes) -> bool:
        """Write; False once the client is gone (or the server is stopping)."""
        if self.expired:
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def trickle(self, data: bytes, interval: float) -> None:
        for i in range(len(data)):
            if not self.send(data[i : i + 1]):
                return
            # Waits on the stop event, so stopping the server ends every trickle at once.
            if self.server.stopping.wait(interval):
                return

    def hold(self) -> None:
        """Say nothing until the client hangs up (or the bound is reached)."""
        self.sock.settimeout(0.05)
        while not self.expired:
            try:
                if self.sock.recv(1024) == b"":
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def reset(self) -> None:
        # SO_LINGER 0: close() sends RST instead of FIN, as a crashed proxy would.
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _truncated_body(c: _Conn) -> None:
    body = _ENVELOPE.encode()
    head = _head("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    c.send(head + body[: len(body) // 2])  # then close: fewer bytes than promised


def _truncated_json(c: _Conn) -> None:
    c.send(_whole("200 OK", "application/json", _ENVELOPE.encode()[:25]))  # complete HTTP, broken JSON


def _html_502(c: _Conn) -> None:
    c.send(_whole("502 Bad Gateway", "text/html", _HTML))


def _html_200(c: _Conn) -> None:
    c.send(_whole("200 OK", "text/html; charset=utf-8", _HTML.replace(b"502 Bad Gateway", b"Welcome")))


def _xml_200(c: _Conn) -> None:
    c.send(_whole("200 OK", "application/xml", b"<?xml version='1.0'?><status>ok</status>"))


def _no_envelope(c: _Conn) -> None:
    c.send(_whole("200 OK", "application/json", b'{"status": "ok", "id": "x"}'))


def _json_list(c: _Conn) -> None:
    c.send(_whole("200 OK", "application/json", b'[{"data": 1}]'))


def _empty_200(c: _Conn) -> None:
    c.send(_whole("200 OK", "application/json", b""))


def _garbage_status(c: _Conn) -> None:
    c.send(b"HTTP/1.1 two hundred OK\r\nContent-Length: 2\r\n\r\nok")


def _not_http(c: _Conn) -> None:
    c.send(b"SSH-2.0-OpenSSH_9.6\r\n")


def _endless(c: _Conn) -> None:
    # A 200 whose chunked JSON body never ends: 64 KiB of spaces per chunk, as fast as the
    # client reads (bounded by max_seconds on our side, by its deadline on the client's).
    chunk = b" " * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    if not c.send(_head("200 OK", [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])):
        return
    c.send(b'6\r\n{"data\r\n')
    while c.send(frame):
        pass


def _trickle(c: _Conn) -> None:
    # The whole answer, status line included, one byte per interval.
    c.trickle(_whole("200 OK", "application/json", _ENVELOPE.encode()), c.server.trickle_interval)


def _trickle_body(c: _Conn) -> None:
    body = _ENVELOPE.encode()
    if c.send(_head("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])):
        c.trickle(body, c.server.trickle_interval)


def _silent(c: _Conn) -> None:
    c.hold()


def _reset(c: _Conn) -> None:
    c.reset()


def _sse_trickle(c: _Conn) -> None:
    # A stream that opens fine, then trickles an event that never finishes a line.
    if c.send(_head("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])):
        c.trickle(b'data: {"kind": "never.ending", "padding": "' + b"x" * 10_000, c.server.trickle_interval)


def _sse_silent(c: _Conn) -> None:
    if c.send(_head("200 OK", [("Content-Type", "text/event-stream")])):
        c.hold()


def _sse_endless_line(c: _Conn) -> None:
    # One SSE line that never ends, written as fast as the client reads.
    if not c.send(_head("200 OK", [("Content-Type", "text/event-stream")]) + b"data: "):
        return
    chunk = b"x" * 65536
    while c.send(chunk):
        pass


def _sse_json(c: _Conn) -> None:
    # An envelope where a stream was expected (a proxy or an old server).
    c.send(_whole("200 OK", "application/json", _ENVELOPE.encode()))


MODES: Dict[str, Callable[[_Conn], None]] = {
    "truncated-body": _truncated_body,
    "truncated-json": _truncated_json,
    "html-502": _html_502,
    "html-200": _html_200,
    "xml-200": _xml_200,
    "no-envelope": _no_envelope,
    "json-list": _json_list,
    "empty-200": _empty_200,
    "garbage-status": _garbage_status,
    "not-http": _not_http,
    "endless": _endless,
    "trickle": _trickle,
    "trickle-body": _trickle_body,
    "silent": _silent,
    "reset": _reset,
    "sse-trickle": _sse_trickle,
    "sse-silent": _sse_silent,
    "sse-endless-line": _sse_endless_line,
    "sse-json": _sse_json,
}


class BadServer:
    """Listens on 127.0.0.1 (a free port); one daemon thread per connection.

    Args:
        max_seconds: No connection is served longer than this.
        trickle_interval: Seconds between the bytes of the ``trickle`` behaviours.
    """

    def __init__(self, *, max_seconds: float = 20.0, trickle_interval: float = 1.0) -> None:
        self.max_seconds = max_seconds
        self.trickle_interval = trickle_interval
        self.stopping = threading.Event()
        self.connections = 0
        self.requests: Dict[str, int] = {}
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)
        self.port = int(self._sock.getsockname()[1])
        self._threads: List[threading.Thread] = []
        self._acceptor: Optional[threading.Thread] = None

    def url(self, mode: str) -> str:
        if mode not in MODES:
            raise KeyError(mode)
        return f"http://127.0.0.1:{self.port}/{mode}"

    def start(self) -> BadServer:
        self._acceptor = threading.Thread(target=self._accept_loop, name="bad-server", daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(5)
        for thread in list(self._threads):
            thread.join(5)
        self._sock.close()

    def __enter__(self) -> BadServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._threads = [t for t in self._threads if t.is_alive()]
                thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            conn = _Conn(sock, self)
            mode = self._read_request(sock)
            if mode is None:
                return
            with self._lock:
                self.requests[mode] = self.requests.get(mode, 0) + 1
            sock.settimeout(None)
            try:
                MODES[mode](conn)
            except OSError:
                pass

    def _read_request(self, sock: socket.socket) -> Optional[str]:
        sock.settimeout(5.0)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                data += chunk
                if len(data) > 1 << 20:
                    return None
            head, _, rest = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            while len(rest) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                rest += chunk
        except (OSError, ValueError):
            return None
        parts = lines[0].split(" ")
        path = parts[1] if len(parts) > 1 else "/"
        mode = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
        if mode not in MODES:
            with contextlib.suppress(OSError):
                sock.sendall(_whole("404 Not Found", "text/plain", b"unknown mode"))
            return None
        return mode

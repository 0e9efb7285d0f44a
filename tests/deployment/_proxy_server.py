"""A tiny forwarding proxy on 127.0.0.1 that counts what it carries, and a TLS front.

``CountingProxy`` speaks the two proxy forms clients use: an absolute-URI request
(``GET http://host/path``, for ``http://`` URLs), forwarded one request per connection,
and ``CONNECT host:port`` (for ``https://`` URLs), after which it relays bytes both ways.
``TLSFront`` terminates TLS in front of a plain HTTP server, so that an ``https://`` base
URL can reach the emulator.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from typing import Any, List, Optional, Tuple

__all__ = ["CountingProxy", "TLSFront"]


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes; then close both."""

    def one_way(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    other = threading.Thread(target=one_way, args=(b, a), daemon=True)
    other.start()
    one_way(a, b)
    other.join(10)
    a.close()
    b.close()


def _read_head(sock: socket.socket) -> Tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b"", b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


class _Server:
    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)
        self._stopping = threading.Event()
        self._threads: List[threading.Thread] = []
        self.port = self._sock.getsockname()[1]

    def __enter__(self) -> Any:
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(10)
        self._sock.close()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            conn.settimeout(10)
            thread = threading.Thread(target=self._handle_safely, args=(conn,), daemon=True)
            thread.start()

    def _handle_safely(self, conn: socket.socket) -> None:
        try:
            self.handle(conn)
        except OSError:
            conn.close()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class CountingProxy(_Server):
    """An HTTP proxy. Attributes: ``forwarded`` (absolute-URI requests) and ``tunnels``
    (CONNECT targets), each a list in arrival order."""

    def __init__(self) -> None:
        super().__init__()
        self.forwarded: List[str] = []
        self.tunnels: List[str] = []
        self.url = f"http://127.0.0.1:{self.port}"

    def handle(self, conn: socket.socket) -> None:
        head, rest = _read_head(conn)
        if not head:
            conn.close()
            return
        request_line, _, headers = head.partition(b"\r\n")
        method, target, version = request_line.decode("latin-1").split(" ")
        if method == "CONNECT":
            self.tunnels.append(target)
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host, int(port)), timeout=10)
            conn.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            _relay(conn, upstream)
            return
        # Absolute form: http://host:port/path -> connect there, send the origin form.
        self.forwarded.append(target)
        authority, _, path = target.split("://", 1)[1].partition("/")
        host, _, port = authority.rpartition(":")
        upstream = socket.create_connection((host, int(port or 80)), timeout=10)
        kept = [line for line in headers.split(b"\r\n") if not line.lower().startswith(b"connection:")]
        upstream.sendall(
            f"{method} /{path} {version}\r\n".encode("latin-1")
            + b"\r\n".join([*kept, b"Connection: close"])
            + b"\r\n\r\n"
            + rest
        )
        _relay(conn, upstream)


class TLSFront(_Server):
    """TLS on ``port`` in front of the plain HTTP server at ``upstream``."""

    def __init__(self, upstream: Tuple[str, int], context: ssl.SSLContext) -> None:
        super().__init__()
        self.upstream = upstream
        self.context = context
        self.connections = 0
        self.error: Optional[BaseException] = None

    def handle(self, conn: socket.socket) -> None:
        self.connections += 1
        tls = self.context.wrap_socket(conn, server_side=True)
        _relay(tls, socket.create_connection(self.upstream, timeout=10))

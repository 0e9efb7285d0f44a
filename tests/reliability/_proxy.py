"""A TCP proxy on 127.0.0.1 that resets connections at chosen byte offsets.

Sits between a client and the emulator. For every connection it asks ``cut_after()`` how
many bytes of the server's answer to pass on (``None``: all of them); at that offset it
forwards exactly that many bytes and then resets the client's socket (RST, as a dying
load balancer does) and closes the upstream one. The offset is in raw HTTP bytes, so a cut
lands anywhere: in the status line, in a header, between chunks, inside a chunk-size line,
in the middle of an SSE field or of a UTF-8 sequence.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Callable, List, Optional, Tuple

__all__ = ["ResettingProxy"]


def _reset(sock: socket.socket) -> None:
    # Linger 0 makes close() send RST; SHUT_RD first wakes our own thread blocked in recv().
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class ResettingProxy:
    """``with ResettingProxy(("127.0.0.1", port), cut_after) as proxy: proxy.base_url``.

    Attributes:
        connections: Connections accepted.
        cuts: Connections reset by the proxy.
        bytes_down: Bytes passed from the server to clients.
    """

    def __init__(self, upstream: Tuple[str, int], cut_after: Callable[[], Optional[int]]) -> None:
        self.upstream = upstream
        self.cut_after = cut_after
        self.connections = 0
        self.cuts = 0
        self.bytes_down = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)
        self.port = int(self._sock.getsockname()[1])
        self._threads: List[threading.Thread] = []
        self._open: List[socket.socket] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ResettingProxy:
        thread = threading.Thread(target=self._accept_loop, name="resetting-proxy", daemon=True)
        self._threads.append(thread)
        thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            open_socks = list(self._open)
        for sock in open_socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(5)
        self._sock.close()

    def __enter__(self) -> ResettingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                self.connections += 1
                self._open += [client, server]
                limit = self.cut_after()
            done = threading.Event()
            up = threading.Thread(target=self._pump_up, args=(client, server, done), daemon=True)
            down = threading.Thread(target=self._pump_down, args=(server, client, limit, done), daemon=True)
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()] + [up, down]
            up.start()
            down.start()

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open = [s for s in self._open if s not in socks]

    def _pump_up(self, client: socket.socket, server: socket.socket, done: threading.Event) -> None:
        # Client -> server, until either side goes away.
        try:
            while not done.is_set():
                data = client.recv(65536)
                if not data:
                    break
                server.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_WR)

    def _pump_down(
        self, server: socket.socket, client: socket.socket, limit: Optional[int], done: threading.Event
    ) -> None:
        sent = 0
        cut = False
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) >= limit:
                    client.sendall(data[: limit - sent])
                    sent = limit
                    cut = True
                    break
                client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            done.set()
            with self._lock:
                self.bytes_down += sent
                if cut:
                    self.cuts += 1
            if cut:
                _reset(client)
            else:
                _close(client)
            _close(server)
            self._forget(client, server)

"""Helpers for the deployment tests: scripted loopback servers and a patched resolver."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Tuple

import httpx

from fabric_platform._http.aio_http import AsyncHTTP11Transport

__all__ = [
    "OK",
    "answer_ok",
    "blackhole",
    "client",
    "patched_resolver",
    "raw_server",
    "read_head",
    "run",
    "sink_server",
]

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def run(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test body with ``asyncio.run``, on whatever loop the policy makes
    (asyncio's, or uvloop's under ``FABRIC_TEST_LOOP=uvloop``)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 30))

    return wrapper


class RawServer:
    """A loopback server answering each connection with ``answer``; counts connections."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.port = 0
        self.writers: List[asyncio.StreamWriter] = []
        self.tasks: List[Any] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        self.tasks.append(asyncio.current_task())
        try:
            await self.answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def raw_server(
    answer: Answer, host: str = "127.0.0.1", port: int = 0, **tls: Any
) -> AsyncIterator[RawServer]:
    state = RawServer(answer)
    server = await asyncio.start_server(state.serve, host, port, **tls)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        # End the handlers by closing their connections (a handler cancelled at loop
        # shutdown makes asyncio log an error on some versions).
        for writer in state.writers:
            writer.close()
        await asyncio.wait_for(asyncio.gather(*state.tasks, return_exceptions=True), 10)
        await server.wait_closed()


def client(**kwargs: Any) -> httpx.AsyncClient:
    """An httpx client on the SDK's async transport (``kwargs`` for the transport)."""
    timeout = kwargs.pop("timeout", 5.0)
    return httpx.AsyncClient(transport=AsyncHTTP11Transport(**kwargs), timeout=timeout)


async def answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request on the connection with ``ok``."""
    while await read_head(reader):
        writer.write(OK)
        await writer.drain()


async def read_head(reader: asyncio.StreamReader) -> bytes:
    """The request head (the tests' requests have no body), or b"" at EOF."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""


@contextlib.contextmanager
def blackhole(host: str, port: int) -> Any:
    """A loopback address that never answers a SYN: a listener with a full accept queue
    (Linux drops SYNs then), as a blackholed route behaves."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, port))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())  # fills the queue of one
    try:
        yield
    finally:
        filler.close()
        listener.close()


@contextlib.contextmanager
def patched_resolver(loop: asyncio.AbstractEventLoop, table: Dict[str, List[Tuple[str, int]]]) -> Any:
    """Make ``loop.getaddrinfo`` answer names in ``table`` (each: its (ip, port) list, in
    order); other names resolve as usual. Like a real resolver it is given the name as the
    caller passed it and encodes a Unicode name with Python's IDNA 2003 codec."""
    real = loop.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> List[Tuple[Any, ...]]:
        name = host.encode("idna").decode("ascii") if isinstance(host, str) else host.decode("ascii")
        if name in table:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", address)
                for address in table[name]
            ]
        return await real(host, port, **kwargs)

    loop.getaddrinfo = getaddrinfo  # type: ignore[method-assign]
    try:
        yield
    finally:
        del loop.getaddrinfo  # type: ignore[method-assign]


@contextlib.contextmanager
def sink_server() -> Any:
    """A keep-alive HTTP server in a thread that reads request bodies into one fixed buffer
    (so that it allocates nothing per byte: the test can trace the client's memory) and
    answers each with ``ok``. Yields its base URL."""
    import threading

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    view = memoryview(bytearray(1024 * 1024))

    def serve(conn: socket.socket) -> None:
        while True:
            head = b""
            while b"\r\n\r\n" not in head:
                n = conn.recv_into(view)
                if not n:
                    return
                head += bytes(view[:n])
            header, _, rest = head.partition(b"\r\n\r\n")
            lengths = [line for line in header.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            left = (int(lengths[0].split(b":", 1)[1]) if lengths else 0) - len(rest)
            while left > 0:
                n = conn.recv_into(view, min(left, len(view)))
                if not n:
                    return
                left -= n
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                serve(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(10)

"""Sockets for the async transport, written directly on asyncio's protocols.

Why not anyio (what httpcore uses on asyncio): every read there enters a cancel scope and
every "is this idle connection still usable?" check polls the socket through a dict of
attribute getters; with many requests in flight that was a fifth of the async client's
CPU. Here a read is one future plus one timer, and "has the server closed this idle
connection?" is a flag the protocol already keeps, since asyncio tells it about every byte
and every EOF.

Errors are httpx's own (``ConnectError``, ``ReadTimeout``, …) so the transport above and
the SDK's retry decisions treat them exactly like those of httpx's default transport.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import List, Optional, Tuple, Union, cast

import httpx

from fabric_platform._http import fork
from fabric_platform._http.asyncio_connect import open_socket

__all__ = ["Socket", "connect", "wait_future"]

# Stop reading from the socket while this much is buffered and unread: a slow consumer of
# a streamed download must not make the SDK hold the whole body in memory.
_HIGH_WATER = 256 * 1024


class _Protocol(asyncio.Protocol):
    """Collects what the socket delivers and wakes the one reader waiting for it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: Optional[asyncio.Transport] = None
        self.chunks: List[bytes] = []
        self.buffered = 0
        self.received = 0
        self.eof = False
        self.lost: Optional[BaseException] = None
        self.closed = False
        self.reading_paused = False
        self.reader: Optional[asyncio.Future[None]] = None
        self.drain: Optional[asyncio.Future[None]] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's: not a subclass

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        self.received += len(data)
        if self.buffered > _HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        _wake(self.reader)

    def eof_received(self) -> bool:
        self.eof = True
        _wake(self.reader)
        return False  # close our side too: HTTP/1.1 has no use for a half-open connection

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.closed = True
        self.lost = exc
        _wake(self.reader)
        _wake(self.drain)

    def pause_writing(self) -> None:
        if self.drain is None or self.drain.done():
            self.drain = self.loop.create_future()

    def resume_writing(self) -> None:
        _wake(self.drain)

    def take(self, max_bytes: int) -> bytes:
        chunk = self.chunks[0]
        if len(chunk) <= max_bytes:
            del self.chunks[0]
        else:
            chunk, self.chunks[0] = chunk[:max_bytes], chunk[max_bytes:]
        self.buffered -= len(chunk)
        if self.reading_paused and self.buffered <= _HIGH_WATER // 4 and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()
        return chunk


def _wake(waiter: Optional[asyncio.Future[None]]) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


async def wait_future(
    loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None], timeout: Optional[float]
) -> None:
    """Await ``waiter``; ``TimeoutError`` after ``timeout`` seconds (one timer, no task)."""
    if timeout is None:
        await waiter
        return
    timer = loop.call_later(timeout, _expire, waiter)
    try:
        await waiter
    finally:
        timer.cancel()


class Socket:
    """One TCP (or TLS) connection: reads, writes, and whether the peer has gone."""

    __slots__ = ("__weakref__", "_loop", "_protocol", "_transport")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, protocol: _Protocol, transport: asyncio.Transport
    ) -> None:
        self._loop = loop
        self._protocol = protocol
        self._transport = transport
        fork.track_socket(self)

    def fork_fileno(self) -> Optional[int]:
        """The descriptor, for releasing it in a forked child (see ``fork``)."""
        sock = self._transport.get_extra_info("socket")
        return None if sock is None else int(sock.fileno())

    async def read(self, max_bytes: int, timeout: Optional[float]) -> bytes:
        """Up to ``max_bytes`` bytes; ``b""`` once the peer has closed.

        Raises:
            httpx.ReadTimeout: Nothing arrived within ``timeout`` seconds.
            httpx.ReadError: The connection was reset.
        """
        protocol = self._protocol
        if not protocol.chunks:
            if protocol.eof or protocol.closed:
                return self._at_end()
            waiter = protocol.reader = self._loop.create_future()
            try:
                await wait_future(self._loop, waiter, timeout)
            except TimeoutError:
                raise httpx.ReadTimeout("timed out waiting for the server") from None
            finally:
                protocol.reader = None
            if not protocol.chunks:
                return self._at_end()
        return protocol.take(max_bytes)

    def _at_end(self) -> bytes:
        lost = self._protocol.lost
        if lost is not None:
            raise httpx.ReadError(str(lost) or type(lost).__name__)
        return b""

    async def write(self, data: Union[bytes, memoryview], timeout: Optional[float]) -> None:
        """Send ``data``, waiting only while the kernel's buffer is full.

        Raises:
            httpx.WriteTimeout: The buffer did not drain within ``timeout`` seconds.
            httpx.WriteError: The connection is closed.
        """
        protocol = self._protocol
        if protocol.closed or self._transport.is_closing():
            raise httpx.WriteError("the connection is closed")
        self._transport.write(data)
        drain = protocol.drain
        if drain is not None and not drain.done():
            try:
                await wait_future(self._loop, drain, timeout)
            except TimeoutError:
                raise httpx.WriteTimeout("timed out sending to the server") from None
            if protocol.closed:
                raise httpx.WriteError("the connection was lost while sending")

    @property
    def received(self) -> int:
        """Bytes received since the connection opened."""
        return self._protocol.received

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read."""
        return self._protocol.buffered

    @property
    def peer_gone(self) -> bool:
        """For an idle keep-alive connection: anything arrived (data, EOF, reset)."""
        protocol = self._protocol
        return bool(protocol.chunks) or protocol.eof or protocol.closed

    def close(self) -> None:
        self._transport.close()


async def connect(
    host: str,
    port: int,
    *,
    ssl_context: Optional[ssl.SSLContext],
    timeout: Optional[float],
    local_address: Optional[str] = None,
    server_hostname: Optional[str] = None,
) -> Socket:
    """Open a connection (TLS when ``ssl_context`` is given, verified against ``host``).

    Args:
        host: An ASCII host name (IDNA-encoded already) or an IP literal.
        port: The TCP port.
        ssl_context: TLS settings, or None for plain TCP.
        timeout: Seconds for resolving, connecting and the TLS handshake together.
        local_address: Local IP to bind to.
        server_hostname: The name sent in TLS SNI and checked against the certificate
            (default: ``host``).

    Raises:
        httpx.ConnectTimeout: Not connected (handshake included) within ``timeout``.
        httpx.ConnectError: Refused, unreachable, or the TLS handshake failed.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "the SDK's async client runs on asyncio; no asyncio event loop is running"
        ) from None
    try:
        transport, protocol = await asyncio.wait_for(
            _open(loop, host, port, ssl_context, server_hostname or host, local_address), timeout
        )
    except asyncio.TimeoutError:
        raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
    except (OSError, ssl.SSLError) as exc:
        raise httpx.ConnectError(f"could not connect to {host}:{port}: {exc}") from exc
    return Socket(loop, protocol, transport)


async def _open(
    loop: asyncio.AbstractEventLoop,
    host: str,
    port: int,
    ssl_context: Optional[ssl.SSLContext],
    server_hostname: str,
    local_address: Optional[str],
) -> Tuple[asyncio.Transport, _Protocol]:
    sock = await open_socket(loop, host, port, local_address=local_address)
    protocol = _Protocol(loop)
    try:
        # Not an isinstance check on the transport: uvloop's are not asyncio.Transport
        # subclasses, though they provide the same methods.
        transport, _ = await loop.create_connection(
            lambda: protocol,
            sock=sock,
            ssl=ssl_context,
            server_hostname=server_hostname if ssl_context is not None else None,
        )
    except BaseException:
        sock.close()
        raise
    return transport, protocol

"""The async client's HTTP/1.1 transport: h11 on asyncio sockets, with a lean keep-alive pool.

Why the SDK has its own: httpx's default async transport (httpcore's pool over anyio)
costs about twice the CPU per request of the sync one here, and more as connections are
added — its pool re-examines every queued request and every connection whenever one
starts or finishes, through anyio locks and socket polls. Against a fast server a burst of
concurrent calls then ran at a quarter of the speed of the same calls made one by one
(BENCHMARKS.md). This transport does per request: take an idle connection (or open one),
write the request, let h11 parse the answer, put the connection back.

What it covers: HTTP/1.1 over TCP and TLS on an asyncio event loop — everything the SDK's
own async client sends (the SDK runs on asyncio, or uvloop). Requests through a proxy
never reach this class: the client mounts httpx's own transports for the proxies the
environment names (``proxies``). Message framing, header validation and keep-alive rules
are h11's; errors are httpx's, as from its default transport. Connecting (Happy Eyeballs
over every resolved address, IDNA 2008 names, ``sni_hostname``) is in ``asyncio_connect``
and ``asyncio_net``.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from typing import Any, AsyncIterator, Deque, Dict, List, Optional, Set, Tuple, Union

import h11
import httpx

from fabric_platform._core.retry import is_replay_safe
from fabric_platform._http.asyncio_net import Socket, connect, wait_future
from fabric_platform._http.client_handle import DEFAULT_LIMITS
from fabric_platform._http.deadline_io import clamp

__all__ = ["AsyncHTTP11Transport"]

_READ_SIZE = 64 * 1024
# The largest response head accepted while it arrives (h11's own default is 16 KiB; httpcore
# allows this much, and real servers with many cookies or long CSP headers come close).
_MAX_HEAD = 100 * 1024
# A large body goes to the socket this much at a time (see _Connection._write).
_WRITE_SLICE = 256 * 1024
# (scheme, ASCII host, port, TLS server name): connections are reused only within one.
_Origin = Tuple[bytes, str, int, Optional[str]]


class _Connection:
    """One keep-alive connection and its h11 state machine."""

    __slots__ = ("h11", "idle_since", "origin", "socket")

    def __init__(self, origin: _Origin, socket: Socket) -> None:
        self.origin = origin
        self.socket = socket
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        self.idle_since = 0.0

    async def send(self, request: httpx.Request, timeout: Optional[float]) -> None:
        h = self.h11
        head = h.send(
            h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw)
        )
        # The pieces to send, the body's own objects among them (h11's data passthrough
        # frames a chunk without copying it): a small request goes out as one write, a big
        # upload piece by piece, so its body is never copied on the way to the socket.
        pending: List[Any] = [head or b""]
        size = len(pending[0])
        async for chunk in request.stream:  # type: ignore[union-attr]
            if chunk:
                for piece in h.send_with_data_passthrough(h11.Data(data=chunk)) or ():
                    pending.append(piece)
                    size += len(piece)
                if size >= _READ_SIZE:
                    await self._write(pending, timeout)
                    pending, size = [], 0
        pending.append(h.send(h11.EndOfMessage()) or b"")
        await self._write(pending, timeout)

    async def _write(self, pieces: List[Any], timeout: Optional[float]) -> None:
        if sum(len(piece) for piece in pieces) < _READ_SIZE:
            await self.socket.write(b"".join(pieces), clamp(timeout))
            return
        for piece in pieces:
            # In slices: what the socket does not take at once, asyncio copies into its
            # buffer (a bytearray, before Python 3.12), and waiting for it to drain between
            # slices keeps that copy to one slice.
            view = memoryview(piece)
            for offset in range(0, len(view), _WRITE_SLICE):
                await self.socket.write(view[offset : offset + _WRITE_SLICE], clamp(timeout))

    async def next_event(self, timeout: Optional[float]) -> object:
        h = self.h11
        while True:
            event = h.next_event()
            if event is not h11.NEED_DATA:
                return event
            h.receive_data(await self.socket.read(_READ_SIZE, clamp(timeout)))

    async def receive_head(self, timeout: Optional[float]) -> h11.Response:
        while True:
            event = await self.next_event(timeout)
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):  # a 1xx: the real answer follows
                raise httpx.RemoteProtocolError("the server closed the connection without answering")

    def finish(self) -> bool:
        """After a complete response: ready for the next request (else close it)."""
        h = self.h11
        if h.our_state is not h11.DONE or h.their_state is not h11.DONE:
            return False
        if h.trailing_data[0]:
            # Bytes after the end of the response (a body longer than its Content-Length):
            # they would be read as the answer to the next request on this connection.
            return False
        h.start_next_cycle()
        return True


class _Pool:
    """Idle connections per origin, a limit on open ones, and FIFO waiters for a slot."""

    def __init__(
        self, *, limits: httpx.Limits, ssl_context: ssl.SSLContext, local_address: Optional[str]
    ) -> None:
        # None means "no limit", as in httpx.
        self._max = limits.max_connections if limits.max_connections is not None else float("inf")
        self._max_idle = (
            limits.max_keepalive_connections if limits.max_keepalive_connections is not None else float("inf")
        )
        self._expiry = limits.keepalive_expiry
        self._ssl_context = ssl_context
        self._local_address = local_address
        self._idle: Dict[_Origin, List[_Connection]] = {}
        # Every open connection, idle or busy (closing the client closes them all), and how
        # many are being opened; together they count against max_connections.
        self._all: Set[_Connection] = set()
        self._connecting = 0
        self._waiters: Deque[asyncio.Future[None]] = collections.deque()
        self.closed = False

    @property
    def in_use(self) -> int:
        """Open connections carrying a request or a response not yet read to its end."""
        return len(self._all) - self._idle_count()

    def _idle_count(self) -> int:
        return sum(len(conns) for conns in self._idle.values())

    def _take_idle(self, origin: _Origin) -> Optional[_Connection]:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have timed out
            if conn.socket.peer_gone or (self._expiry is not None and now - conn.idle_since > self._expiry):
                self._discard(conn)
                continue
            return conn
        return None

    def _evict_other_idle(self) -> bool:
        """At the limit with idle connections to other hosts: close one to make room."""
        for conns in self._idle.values():
            if conns:
                self._discard(conns.pop(0))
                return True
        return False

    def _discard(self, conn: _Connection) -> None:
        conn.socket.close()
        self._all.discard(conn)

    async def acquire(
        self, origin: _Origin, timeouts: Dict[str, Optional[float]]
    ) -> Tuple[_Connection, bool]:
        """A connection to ``origin`` and whether it was reused.

        Raises:
            httpx.PoolTimeout: No connection could be had within the pool timeout.
        """
        deadline = None
        while True:
            if self.closed:
                raise httpx.PoolTimeout("the client has been closed")
            conn = self._take_idle(origin)
            if conn is not None:
                return conn, True
            if len(self._all) + self._connecting < self._max or self._evict_other_idle():
                self._connecting += 1
                try:
                    scheme, host, port, sni = origin
                    socket = await connect(
                        host,
                        port,
                        ssl_context=self._ssl_context if scheme == b"https" else None,
                        timeout=clamp(timeouts.get("connect")),
                        local_address=self._local_address,
                        server_hostname=sni,
                    )
                except BaseException:
                    self._wake_one()
                    raise
                finally:
                    self._connecting -= 1
                if self.closed:  # the client was closed while this connection was opening
                    socket.close()
                    raise httpx.PoolTimeout("the client has been closed")
                conn = _Connection(origin, socket)
                self._all.add(conn)
                return conn, False
            loop = asyncio.get_running_loop()
            if deadline is None:
                pool_timeout = clamp(timeouts.get("pool"))
                deadline = None if pool_timeout is None else loop.time() + pool_timeout
            waiter = loop.create_future()
            self._waiters.append(waiter)
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                await wait_future(loop, waiter, remaining)
            except TimeoutError:
                raise httpx.PoolTimeout("timed out waiting for a free connection") from None
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._wake_one()  # woken, then cancelled: pass the free slot on
                raise

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def release(self, conn: _Connection, reusable: bool) -> None:
        """Give a connection back after its response: keep it idle, or close it."""
        if reusable and not self.closed and self._idle_count() < self._max_idle and not conn.socket.peer_gone:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(conn.origin, []).append(conn)
        else:
            self._discard(conn)
        self._wake_one()

    def close(self) -> None:
        """Close every connection, busy ones included (their responses end with a ReadError)."""
        self.closed = True
        self._idle.clear()
        for conn in list(self._all):
            self._discard(conn)
        while self._waiters:
            self._wake_one()


class _ResponseBody(httpx.AsyncByteStream):
    """The body as it arrives; hands the connection back once read to the end (or closed)."""

    def __init__(self, pool: _Pool, conn: _Connection, timeout: Optional[float]) -> None:
        self._pool = pool
        self._conn: Optional[_Connection] = conn
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            while True:
                event = await conn.next_event(self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
                else:
                    raise httpx.RemoteProtocolError("the server closed the connection mid-response")
        except h11.RemoteProtocolError as exc:
            self._release(False)
            raise httpx.RemoteProtocolError(str(exc)) from exc
        except BaseException:
            self._release(False)
            raise
        self._release(conn.finish())

    def _release(self, reusable: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn, reusable)

    async def aclose(self) -> None:
        self._release(False)  # closed before its end: the rest of the body is unread


async def _send_or_early_answer(
    conn: _Connection, request: httpx.Request, timeouts: Dict[str, Any], received_before: int
) -> None:
    """Send the request; if sending fails, an answer the server already gave still counts.

    A server may refuse a request before reading its body (413 for an upload too large) and
    close the connection; writing the rest then fails, but the refusal is the real outcome.
    """
    try:
        await conn.send(request, timeouts.get("write"))
    except httpx.WriteError:
        if conn.socket.received == received_before:
            raise
        # Leave it to receive_head: the answer is in the buffer (or this was a plain reset).


def _replayable(request: httpx.Request) -> bool:
    # Safe to send again when a reused keep-alive connection turns out dead before any
    # answer: the retry policy's rule for a request that may have been received.
    if not isinstance(request.stream, httpx.ByteStream):
        return False  # a streamed body cannot be read twice
    return is_replay_safe(request.method, "idempotency-key" in request.headers)


class AsyncHTTP11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 keep-alive transport for httpx.AsyncClient on asyncio.

    Args:
        limits: Connection limits (``max_connections``, ``max_keepalive_connections``,
            ``keepalive_expiry``), as for httpx.
        verify: TLS verification, as for httpx (True, a CA bundle path, or an SSLContext).
        local_address: Local IP to bind outgoing connections to.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        verify: Union[ssl.SSLContext, str, bool] = True,
        local_address: Optional[str] = None,
    ) -> None:
        ssl_context = (
            verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        )
        self._pool = _Pool(limits=limits, ssl_context=ssl_context, local_address=local_address)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.raw_scheme
        if scheme not in (b"http", b"https"):
            raise httpx.UnsupportedProtocol(f"cannot send a request to a {url.scheme!r} URL")
        extensions = request.extensions
        timeouts = extensions.get("timeout", {})
        # The host as httpx encoded it (IDNA 2008, UTS #46): `url.host` is the Unicode form,
        # which the resolver and ssl would encode the IDNA 2003 way (faß.example would
        # become fass.example, another host).
        host = url.raw_host.decode("ascii")
        origin = (
            scheme,
            host,
            url.port or (443 if scheme == b"https" else 80),
            extensions.get("sni_hostname"),
        )
        while True:
            conn, reused = await self._pool.acquire(origin, timeouts)
            received_before = conn.socket.received
            try:
                await _send_or_early_answer(conn, request, timeouts, received_before)
                head = await conn.receive_head(timeouts.get("read"))
                break
            except (
                httpx.ReadError,
                httpx.WriteError,
                httpx.RemoteProtocolError,
                h11.RemoteProtocolError,
            ) as exc:
                self._pool.release(conn, False)
                # The server closed an idle keep-alive connection just as we reused it (it
                # answered nothing, so it did not act on the request): send again on a new
                # connection, once, if sending twice is harmless.
                if reused and conn.socket.received == received_before and _replayable(request):
                    continue
                if isinstance(exc, h11.RemoteProtocolError):
                    raise httpx.RemoteProtocolError(str(exc)) from exc
                raise
            except h11.LocalProtocolError as exc:
                self._pool.release(conn, False)
                raise httpx.LocalProtocolError(str(exc)) from exc
            except BaseException:
                self._pool.release(conn, False)
                raise
        return httpx.Response(
            status_code=head.status_code,
            headers=head.headers.raw_items(),
            stream=_ResponseBody(self._pool, conn, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )

    @property
    def connections_in_use(self) -> int:
        """Open connections busy with a request or an unfinished response (for diagnostics)."""
        return self._pool.in_use

    async def aclose(self) -> None:
        self._pool.close()

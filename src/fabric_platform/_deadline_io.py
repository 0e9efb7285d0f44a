"""Bound every socket read and write of an attempt by the call's deadline.

httpx's timeouts apply to each socket operation on its own. A server (or a broken proxy)
that sends its status line and headers one byte per second never trips a read timeout, so
without this a call with ``timeout=2`` could wait for hours before the response head is
complete; the transport's deadline streams only guard the body, which comes later.

The transport sets :data:`current_deadline` around each attempt (connect, send, response
head, and for non-streamed calls the body), and the connection pools of the httpx clients
the SDK creates get a network backend whose streams clamp every read/write timeout to what
is left of that deadline. Outside an attempt (an open SSE stream being iterated) nothing is
clamped: the stream's own idle timeout applies.
"""

from __future__ import annotations

import contextlib
import contextvars
import ssl
from typing import Any, Iterable, Iterator, Optional, Union

import httpcore
import httpx

from fabric_platform._retry import Deadline

__all__ = ["bounded", "current_deadline", "install"]

#: The deadline of the attempt running in this thread / task, if any.
current_deadline: contextvars.ContextVar[Optional[Deadline]] = contextvars.ContextVar(
    "fabric_platform_call_deadline", default=None
)

# httpx/httpcore treat 0 as "do not wait at all" (a non-blocking socket): never pass it.
_MIN_WAIT = 0.001


@contextlib.contextmanager
def bounded(deadline: Deadline) -> Iterator[None]:
    """Within the block, socket reads/writes of SDK-created clients end by ``deadline``."""
    token = current_deadline.set(deadline)
    try:
        yield
    finally:
        current_deadline.reset(token)


def _clamp(timeout: Optional[float]) -> Optional[float]:
    # Runs on every socket read/write of an SDK-created client: kept to a few operations
    # (it is min(timeout, max(_MIN_WAIT, deadline.remaining())) with the calls inlined).
    deadline = current_deadline.get()
    if deadline is None:
        return timeout
    left = deadline.expires_at - deadline.clock()
    if left < _MIN_WAIT:
        left = _MIN_WAIT
    return left if timeout is None or timeout > left else timeout


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[Any]] = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        return _Stream(stream)

    def connect_unix_socket(
        self, path: str, timeout: Optional[float] = None, socket_options: Optional[Iterable[Any]] = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        return await self._inner.read(max_bytes, _clamp(timeout))

    async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        await self._inner.write(buffer, _clamp(timeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(await self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[Any]] = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        return _AsyncStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: Optional[float] = None, socket_options: Optional[Iterable[Any]] = None
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(await self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def install(client: Union[httpx.Client, httpx.AsyncClient]) -> bool:
    """Wrap the network backend of every connection pool of an httpx client we created.

    Called before the client sends anything (connections are created lazily, each with the
    pool's backend at that time). httpx does not expose the backend, hence the attribute
    walk; if a future httpx moves it, nothing is wrapped and this returns False (the
    reliability tests then fail on the trickling server).

    Args:
        client: A client the SDK owns (never a caller-supplied one).

    Returns:
        True when at least one pool was wrapped.
    """
    transports = [getattr(client, "_transport", None)]
    transports += list((getattr(client, "_mounts", None) or {}).values())
    wrapped = False
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, (_Backend, _AsyncBackend)):
            wrapped = True
        elif isinstance(backend, httpcore.NetworkBackend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
            wrapped = True
        elif isinstance(backend, httpcore.AsyncNetworkBackend):
            pool._network_backend = _AsyncBackend(backend)  # type: ignore[union-attr]
            wrapped = True
    return wrapped

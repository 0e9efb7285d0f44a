"""httpcore network backends whose every socket read/write ends by the call's deadline.

Kept apart from :mod:`fabric_platform._http.deadline_io` so that importing the SDK does not import
httpcore (httpx itself only does so when a client is built): these classes are needed only
when the SDK creates its own httpx client, and :func:`fabric_platform._http.deadline_io.install`
loads this module then.
"""

from __future__ import annotations

import ssl
from typing import Any, Iterable, Optional, Union

import httpcore
import httpx

from fabric_platform._http import fork
from fabric_platform._http.deadline_io import clamp

__all__ = ["wrap_pools"]


def _fileno(stream: Any) -> Optional[int]:
    # The descriptor under an httpcore stream, through its public get_extra_info.
    sock = stream.get_extra_info("socket")
    return None if sock is None else int(sock.fileno())


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        fork.track_socket(self)

    def fork_fileno(self) -> Optional[int]:
        return _fileno(self._inner)

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        return self._inner.read(max_bytes, clamp(timeout))

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        self._inner.write(buffer, clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, clamp(timeout)))

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
        stream = self._inner.connect_tcp(host, port, clamp(timeout), local_address, socket_options)
        return _Stream(stream)

    def connect_unix_socket(
        self, path: str, timeout: Optional[float] = None, socket_options: Optional[Iterable[Any]] = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        fork.track_socket(self)

    def fork_fileno(self) -> Optional[int]:
        return _fileno(self._inner)

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        return await self._inner.read(max_bytes, clamp(timeout))

    async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        await self._inner.write(buffer, clamp(timeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(await self._inner.start_tls(ssl_context, server_hostname, clamp(timeout)))

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
        stream = await self._inner.connect_tcp(host, port, clamp(timeout), local_address, socket_options)
        return _AsyncStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: Optional[float] = None, socket_options: Optional[Iterable[Any]] = None
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(await self._inner.connect_unix_socket(path, clamp(timeout), socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def wrap_pools(client: Union[httpx.Client, httpx.AsyncClient]) -> bool:
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

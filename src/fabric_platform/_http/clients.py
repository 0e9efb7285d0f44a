"""The httpx clients the SDK creates when the caller brings none.

Redirects are not followed: the API never redirects, and re-sending a POST to a Location a
proxy made up is not something to do silently. Every socket read and write of these clients
ends by the call's deadline (see ``deadline_io``).
"""

from __future__ import annotations

import httpx

from fabric_platform._config import ClientConfig
from fabric_platform._http import deadline_io
from fabric_platform._http.client_handle import DEFAULT_LIMITS

__all__ = ["create_client_async", "create_client_sync"]


def create_client_sync(config: ClientConfig) -> httpx.Client:
    """A pooled ``httpx.Client`` for :class:`~fabric_platform.FabricClient`."""
    client = httpx.Client(timeout=config.timeout, limits=DEFAULT_LIMITS, follow_redirects=False)
    deadline_io.install(client)  # the deadline also bounds a trickled response head
    return client


def create_client_async(config: ClientConfig) -> httpx.AsyncClient:
    """A pooled ``httpx.AsyncClient`` for :class:`~fabric_platform.AsyncFabricClient`.

    It sends through the SDK's own HTTP/1.1 transport (see ``aio_http``: httpx's default
    async transport costs twice the CPU per request); requests through a proxy from the
    environment get httpx's (mounted here: httpx does not read the environment when given a
    transport).
    """
    from fabric_platform._http.aio_http import AsyncHTTP11Transport
    from fabric_platform._http.proxies import environment_mounts

    def proxied(url: str) -> httpx.AsyncBaseTransport:
        return httpx.AsyncHTTPTransport(proxy=httpx.Proxy(url), limits=DEFAULT_LIMITS)

    client = httpx.AsyncClient(
        transport=AsyncHTTP11Transport(limits=DEFAULT_LIMITS),
        mounts=environment_mounts(proxied),
        timeout=config.timeout,
        limits=DEFAULT_LIMITS,
        follow_redirects=False,
    )
    deadline_io.install(client)  # the proxy mounts' pools, if any
    return client

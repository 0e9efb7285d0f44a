"""The one place the SDK reaches into httpx's private attributes, checked on every release.

``_deadline_backends.wrap_pools`` wraps the network backend of the connection pools of the
httpx clients the SDK creates (``client._transport._pool._network_backend`` and the same
for each proxy mount in ``client._mounts``), so that every socket read and write of an
attempt ends by the call's deadline. httpx exposes no public way to do this. If a release
moves those attributes, nothing is wrapped; these tests then fail and say what moved.
"""

from __future__ import annotations

import asyncio
from typing import Any, List, Union

import httpcore
import httpx
import pytest

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform._http.deadline_backends import _AsyncBackend, _Backend, wrap_pools

MOVED = (
    "httpx {version} no longer keeps the connection pool's network backend at "
    "client._transport._pool._network_backend (or proxies in client._mounts): "
    "fabric_platform._http.deadline_backends.wrap_pools must be updated for it, or the call "
    "deadline stops bounding a response head that trickles in"
)


def _backends(http: Union[httpx.Client, httpx.AsyncClient]) -> List[Any]:
    transports = [getattr(http, "_transport", None), *(getattr(http, "_mounts", None) or {}).values()]
    return [getattr(getattr(t, "_pool", None), "_network_backend", None) for t in transports if t is not None]


def test_httpx_keeps_the_attributes_wrap_pools_reaches_for() -> None:
    message = MOVED.format(version=httpx.__version__)
    with httpx.Client() as sync_client:
        backends = _backends(sync_client)
        assert backends and isinstance(backends[0], httpcore.NetworkBackend), message
    proxied = httpx.AsyncClient(
        mounts={"all://": httpx.AsyncHTTPTransport(proxy=httpx.Proxy("http://127.0.0.1:9"))}
    )
    backends = _backends(proxied)
    assert any(isinstance(b, httpcore.AsyncNetworkBackend) for b in backends), message
    assert wrap_pools(proxied), message
    asyncio.run(proxied.aclose())


def test_the_sdk_clients_pools_are_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    message = MOVED.format(version=httpx.__version__)
    with FabricClient(api_key="fab_test_x") as fabric:
        backends = _backends(fabric._transport.http_client)
        assert len(backends) >= 2 and all(isinstance(b, _Backend) for b in backends), message

    async def main() -> None:
        async with AsyncFabricClient(api_key="fab_test_x") as fabric:
            # The SDK's own transport clamps by itself; the proxy mount is httpx's.
            backends = [b for b in _backends(fabric._transport.http_client) if b is not None]
            assert backends and all(isinstance(b, _AsyncBackend) for b in backends), message

    asyncio.run(main())

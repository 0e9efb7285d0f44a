"""Both clients honour HTTP_PROXY / HTTPS_PROXY (CONNECT) / ALL_PROXY / NO_PROXY.

Each test sends real calls to the emulator through a counting loopback proxy (for
``https://``, through a TLS front whose CA the clients trust via ``SSL_CERT_FILE``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import trustme

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform._http.proxies import environment_mounts
from fabric_platform.testing import LocalFabric
from tests.deployment._proxy_server import CountingProxy, TLSFront

VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"]


@pytest.fixture(scope="module")
def local() -> Iterator[LocalFabric]:
    with LocalFabric(speed=200.0, password_hash_iterations=1000) as server:
        yield server


@pytest.fixture()
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingProxy]:
    for name in [*VARIABLES, "REQUEST_METHOD"]:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with CountingProxy() as server:
        yield server


def both_clients(base_url: str, api_key: str) -> Any:
    """get_me() through a new FabricClient and a new AsyncFabricClient."""
    with FabricClient(base_url=base_url, api_key=api_key, max_retries=0) as client:
        sync_me = client.get_me()

    async def main() -> Any:
        async with AsyncFabricClient(base_url=base_url, api_key=api_key, max_retries=0) as client:
            return await client.get_me()

    return sync_me, asyncio.run(asyncio.wait_for(main(), 30))


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY", "http_proxy"])
def test_http_urls_go_through_the_proxy(
    local: LocalFabric, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, proxy.url)
    results = both_clients(local.base_url, local.api_key)
    assert all(me["authenticated"] for me in results)
    assert proxy.forwarded == [f"{local.base_url}/v1/me"] * 2  # one per client
    assert proxy.tunnels == []


def test_no_proxy_sends_directly(
    local: LocalFabric, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", f"example.com, {urlsplit(local.base_url).hostname}")
    results = both_clients(local.base_url, local.api_key)
    assert all(me["authenticated"] for me in results)
    assert (proxy.forwarded, proxy.tunnels) == ([], [])


def test_https_urls_tunnel_through_the_proxy_with_connect(
    local: LocalFabric, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import ssl

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    upstream = urlsplit(local.base_url)
    with TLSFront((upstream.hostname or "", upstream.port or 80), server_ctx) as front:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        base_url = f"https://localhost:{front.port}"
        results = both_clients(base_url, local.api_key)
    assert all(me["authenticated"] for me in results)
    assert proxy.tunnels == [f"localhost:{front.port}"] * 2
    assert proxy.forwarded == []


def test_environment_mounts_follow_the_no_proxy_rules() -> None:
    mounts = environment_mounts(
        lambda url: url,
        {
            "http": "proxy:3128",
            "https": "http://p:1",
            "no": "10.0.0.0/8, ::1, localhost, .corp.example, https://x.test",
        },
    )
    assert mounts == {
        "http://": "http://proxy:3128",
        "https://": "http://p:1",
        "all://10.0.0.0/8": None,
        "all://[::1]": None,
        "all://localhost": None,
        "all://*.corp.example": None,
        "https://x.test": None,
    }
    assert environment_mounts(lambda url: url, {"all": "http://p:1", "no": "*"}) == {}

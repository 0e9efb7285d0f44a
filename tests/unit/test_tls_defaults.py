"""The SDK verifies TLS by default, and nothing in the package turns verification off.

* The httpx clients the SDK builds (sync and async, and the copies ``with_options`` makes)
  carry an SSL context that requires a certificate and checks the host name.
* A scan of every source file of the package for the ways Python code disables
  verification; only a caller's own ``http_client`` can change it.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path
from typing import Any, List

import httpx
import pytest

from fabric_platform import AsyncFabricClient, FabricClient

SRC = Path(__file__).resolve().parents[2] / "src" / "fabric_platform"
GENERATED = Path(__file__).resolve().parents[2] / "generated" / "fabric_platform_api"

# How Python code switches certificate checks off.
DISABLING = [
    re.compile(r"verify\s*=\s*(False|0|None)\b"),
    re.compile(r"CERT_NONE"),
    re.compile(r"check_hostname\s*=\s*False"),
    re.compile(r"_create_unverified_context"),
    re.compile(r"PYTHONHTTPSVERIFY"),
    re.compile(r"SSL_CERT_(FILE|DIR)\s*[\]=]"),  # overriding the trust store from code
]


def _ssl_contexts(http: Any) -> List[ssl.SSLContext]:
    """The SSL contexts of every connection pool of an httpx client (default and mounts)."""
    transports = [http._transport, *(t for t in http._mounts.values() if t is not None)]
    contexts = []
    for transport in transports:
        pool = transport._pool
        contexts.append(pool._ssl_context)
    return contexts


def _assert_verifying(http: Any) -> None:
    contexts = _ssl_contexts(http)
    assert contexts, "no connection pool found"
    for ctx in contexts:
        assert isinstance(ctx, ssl.SSLContext)
        assert ctx.verify_mode == ssl.CERT_REQUIRED
        assert ctx.check_hostname is True


def test_the_sync_client_verifies_certificates_by_default() -> None:
    with FabricClient(api_key="fab_test_tls") as fabric:
        assert fabric.base_url.startswith("https://")
        _assert_verifying(fabric._transport.http_client)
        copy = fabric.with_options(timeout=5)
        assert copy._transport.http_client is fabric._transport.http_client


def test_the_async_client_verifies_certificates_by_default() -> None:
    async def main() -> None:
        async with AsyncFabricClient(api_key="fab_test_tls") as fabric:
            _assert_verifying(fabric._transport.http_client)

    asyncio.run(main())


def test_verification_holds_with_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with FabricClient(api_key="fab_test_tls") as fabric:
        http = fabric._transport.http_client
        assert any(t is not None for t in http._mounts.values()), "the proxy mount was not created"
        _assert_verifying(http)


def test_only_the_callers_own_client_can_turn_verification_off() -> None:
    mine = httpx.Client(verify=False)  # the explicit caller choice the issue allows
    with FabricClient(api_key="fab_test_tls", http_client=mine) as fabric:
        assert fabric._transport.http_client is mine
    assert not mine.is_closed  # the SDK does not own (or reconfigure) it
    mine.close()


@pytest.mark.parametrize("root", [SRC, GENERATED], ids=["src", "generated"])
def test_nothing_in_the_package_disables_verification(root: Path) -> None:
    files = sorted(root.rglob("*.py"))
    assert len(files) > 5
    hits = [
        f"{path.relative_to(root.parent)}:{lineno}: {line.strip()}"
        for path in files
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for pattern in DISABLING
        if pattern.search(line)
    ]
    assert not hits, "\n".join(hits)

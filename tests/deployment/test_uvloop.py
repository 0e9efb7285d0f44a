"""The async client on uvloop's event loop (uvicorn's default with ``uvicorn[standard]``)."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest
import uvloop

from fabric_platform import AsyncFabricClient
from fabric_platform.testing import LocalFabric


@pytest.fixture(scope="module")
def fabric() -> Iterator[LocalFabric]:
    with LocalFabric(speed=200.0, password_hash_iterations=1000) as server:
        yield server


def run_on_uvloop(main: Any) -> Any:
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        return asyncio.run(asyncio.wait_for(main, 30))
    finally:
        asyncio.set_event_loop_policy(previous)


def test_calls_succeed_on_uvloop(fabric: LocalFabric) -> None:
    async def main() -> Any:
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        async with AsyncFabricClient(base_url=fabric.base_url, api_key=fabric.api_key) as client:
            me = await client.get_me()
            together = await asyncio.gather(*(client.get_me() for _ in range(20)))
        return me, together

    me, together = run_on_uvloop(main())
    assert me["authenticated"] is True
    assert all(other == me for other in together)


def test_connection_errors_on_uvloop_are_fabric_errors() -> None:
    from fabric_platform.errors import FabricConnectionError

    async def main() -> None:
        async with AsyncFabricClient(base_url="http://127.0.0.1:9", timeout=2, max_retries=0) as client:
            with pytest.raises(FabricConnectionError):
                await client.get_me()

    run_on_uvloop(main())

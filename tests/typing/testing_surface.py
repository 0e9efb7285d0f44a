"""fabric_platform.testing: the emulator and the pytest fixtures' types."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from fabric_platform_api import types
from typing_extensions import assert_type

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform.testing import FabricAccount, LocalFabric


def emulator() -> None:
    with LocalFabric(speed=100.0) as local:
        assert_type(local, LocalFabric)
        assert_type(local.base_url, str)
        assert_type(local.api_key, str)
        assert_type(local.client(), FabricClient)
        assert_type(local.async_client(), AsyncFabricClient)
        assert_type(local.outbox, List[Dict[str, Any]])
        assert_type(local.stats(), Dict[str, int])
        local.fail_next("POST", "/v1/jobs", 503, commit=True)
        local.advance_time(60)
        local.drop_stream_after(3)
        local.reset_faults()
        local.fail_next("POST", "/v1/jobs", "503")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    LocalFabric(speed="fast")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


# A user's tests, annotated as the fixtures are.
def test_with_fixtures(
    local_fabric: LocalFabric, fabric: FabricClient, fabric_account: FabricAccount
) -> None:
    assert_type(fabric_account.organization_id, str)
    assert_type(fabric_account.email, str)
    assert_type(fabric.get_me()["email"], Optional[str])
    fabric_account.email = "x"  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]


async def test_with_async_fixture(async_fabric: AsyncFabricClient) -> None:
    assert_type(await async_fabric.get_me(), types.Me)

"""A user's project: only this file, the installed wheel with its ``emulator`` extra, and pytest.

No conftest.py: the fixtures come from the package's pytest plugin. Checked by tests/typing/run.py,
which runs it in an empty folder (and type-checks it with the rest of the suite).
"""

from __future__ import annotations

import asyncio

import pytest

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform.errors import FabricServerError
from fabric_platform.testing import FabricAccount, LocalFabric


def test_a_job_runs_in_my_own_organization(fabric: FabricClient, fabric_account: FabricAccount) -> None:
    job = fabric.create_job("text", {"prompt": "Say hi"})
    assert job["organization_id"] == fabric_account.organization_id
    kinds = [event["kind"] for event in fabric.stream_job_events(job["id"])]
    assert kinds[-1] == "job.completed"
    assert [org["id"] for org in fabric.list_organizations()] == [fabric.organization_id]


def test_a_failing_server_is_reported(local_fabric: LocalFabric, fabric: FabricClient) -> None:
    local_fabric.fail_next("GET", "/v1/health", 503, count=3)
    with pytest.raises(FabricServerError):
        fabric.health_check()


def test_the_async_client_from_asyncio_run(async_fabric: AsyncFabricClient) -> None:
    async def flow() -> str:
        result = await async_fabric.workflows.runs.submit_and_get_output(
            "video/ai_shorts", input={"topic": "AI trends"}, variants=2
        )
        return result.status

    assert asyncio.run(flow()) == "completed"

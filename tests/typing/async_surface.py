"""The asynchronous client: the same surface awaited, streams as ``async for``."""

from __future__ import annotations

from typing import Any, AsyncIterator, Dict, List, Optional

from fabric_platform_api import types
from typing_extensions import assert_type

from fabric_platform import AsyncEventStream, AsyncFabricClient, EventKind, StreamedEvent
from fabric_platform.models import RunOutput


async def surface() -> None:
    async with AsyncFabricClient(api_key="fab_live_abc123") as fabric:
        assert_type(fabric, AsyncFabricClient)
        assert_type(await fabric.health_check(), types.Health)
        assert_type(await fabric.login("user@example.com", "password123"), types.AuthTokens)
        job = await fabric.create_job(modality="text", input={"prompt": "Hi"})
        assert_type(job, types.Job)
        run_id = await fabric.run_workflow("wf-id", context={"topic": "AI"})
        assert_type(run_id, str)
        assert_type(await fabric.wait_for_run(run_id, timeout=60.0), types.Run)
        result = await fabric.workflows.runs.submit_and_get_output("video/ai_shorts", input={}, variants=2)
        assert_type(result, RunOutput)
        assert_type(await fabric.get_workflow_schemas("research/trends"), types.WorkflowSchemas)
        assert_type(fabric.iter_jobs(), AsyncIterator[types.Job])
        async for listed in fabric.iter_jobs():
            assert_type(listed, types.Job)
        stream = fabric.stream_run_events(run_id)
        assert_type(stream, AsyncEventStream)
        async for event in stream:
            assert_type(event, StreamedEvent)
            assert_type(event["kind"], EventKind)
            assert_type(event["data"], Dict[str, Any])
            assert_type(event.id, Optional[str])
        await stream.aclose()
        async for job_event in fabric.stream_job_events(job["id"]):
            assert_type(job_event.get("kind"), Optional[EventKind])
        assert_type(await fabric.download_all_artifacts(result, "out/"), List[Any])  # type: ignore[assert-type]  # pyright: ignore[reportAssertTypeFailure]
        fabric.get_run(run_id)["status"]  # type: ignore[index]  # pyright: ignore[reportIndexIssue]
        fabric.stream_events().close()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]

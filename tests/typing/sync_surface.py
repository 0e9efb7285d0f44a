"""The synchronous surface of the SDK documentation, as a user's type checker sees it.

Checked with mypy --strict and pyright (strict) against the installed wheel (tests/typing/run.py).
``assert_type`` pins what each call returns; a ``# type: ignore[code]  # pyright: ignore[rule]``
line is code both checkers must reject (an ignore that stops being needed is itself an error).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import httpx
from fabric_platform_api import types
from typing_extensions import Literal, assert_type

from fabric_platform import EventKind, EventStream, FabricClient, StreamedEvent
from fabric_platform.errors import (
    FabricAPIError,
    FabricError,
    FabricNotFoundError,
    FabricRateLimitError,
    FabricSignatureError,
    FabricTimeoutError,
    FabricValidationError,
)
from fabric_platform.models import RunArtifact, RunOutput, VariantOutput
from fabric_platform.webhooks import compute_signature, construct_event, verify_signature


def takes_int(value: int) -> None:
    """Where a str must not go."""


def construction() -> None:
    assert_type(FabricClient(), FabricClient)
    fabric = FabricClient(
        base_url="https://fabric.example.com",
        api_key="fab_live_abc123",
        organization_id="org-uuid",
        timeout=30.0,
        max_retries=3,
    )
    assert_type(fabric.base_url, str)
    assert_type(fabric.organization_id, str)
    assert_type(fabric.with_options(timeout=5.0), FabricClient)
    with FabricClient() as ctx:
        assert_type(ctx, FabricClient)
        assert_type(ctx.health_check(), types.Health)
    FabricClient(timeout="30")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    FabricClient("https://x", "key", None, "org", 30.0, 2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def auth(fabric: FabricClient) -> None:
    tokens = fabric.login("user@example.com", "password123")
    assert_type(tokens, types.AuthTokens)
    assert_type(tokens["access_token"], str)
    assert_type(fabric.signup("user@example.com", "password123"), types.AuthTokens)
    assert_type(fabric.refresh_token(tokens["refresh_token"]), types.AuthTokens)
    assert_type(fabric.social_login_url("google"), str)
    fabric.magic_link("user@example.com")
    fabric.forgot_password("user@example.com")
    fabric.reset_password("token", "new_password")
    fabric.logout()
    fabric.login("user@example.com")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def jobs(fabric: FabricClient) -> None:
    job = fabric.create_job(modality="text", input={"prompt": "Hi"}, idempotency_key="k-1")
    assert_type(job, types.Job)
    assert_type(job["id"], str)
    assert_type(job["status"], Literal["queued", "running", "completed", "failed", "cancelled"])
    assert_type(fabric.get_job(job["id"]), types.Job)
    page = fabric.list_jobs(limit=20, cursor=None)
    assert_type(page, types.JobPage)
    assert_type(fabric.get_job_usage(job["id"]), types.JobUsage)
    assert_type(fabric.jobs.create("text", {"prompt": "Hi"}), types.Job)
    fabric.create_job(modality="text", input="Hi")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    job["nope"]  # type: ignore[typeddict-item]  # pyright: ignore[reportGeneralTypeIssues]


def runs(fabric: FabricClient) -> None:
    wf_id = fabric.upsert_workflow(name="p", nodes=[{"type": "ai_generate", "config": {}}])
    assert_type(wf_id, str)
    assert_type(fabric.get_workflow(wf_id), types.WorkflowDefinition)
    assert_type(fabric.list_workflows(), List[types.WorkflowDefinition])
    run_id = fabric.run_workflow(wf_id, context={"topic": "AI agents"}, priority=5)
    assert_type(run_id, str)
    run = fabric.get_run(run_id)
    assert_type(run, types.Run)
    assert_type(
        run["status"], Literal["pending", "running", "waiting", "paused", "completed", "failed", "cancelled"]
    )
    assert_type(fabric.cancel_run(run_id), types.Run)
    assert_type(fabric.bulk_cancel_runs([run_id]), types.BulkCancelResult)
    assert_type(fabric.run_log(run_id), types.RunLog)
    assert_type(fabric.list_children(run_id), List[types.Run])
    assert_type(fabric.resume_node(run_id, "approval_step", data={"approved": True}), types.Run)
    assert_type(fabric.submit_run("research/trends", input={"topic": "x"}, validate=True), types.Run)
    takes_int(run["status"])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    fabric.bulk_cancel_runs(run_id)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def waiting(fabric: FabricClient) -> None:
    result = fabric.wait_for_run("run-id", poll_interval=1.0, timeout=300.0)
    assert_type(result, types.Run)
    assert_type(fabric.submit_and_wait("video/ai_shorts", {"topic": "AI"}), types.Run)
    fabric.wait_for_run("run-id", timeout="300")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def outputs(fabric: FabricClient) -> None:
    result = fabric.workflows.runs.submit_and_get_output("video/ai_shorts", input={"topic": "AI"}, variants=3)
    assert_type(result, RunOutput)
    assert_type(result.outputs, List[VariantOutput])
    assert_type(result.first_output, Optional[Any])
    assert_type(result.all_artifacts, List[RunArtifact])
    for variant in result.outputs:
        assert_type(variant.variant_index, int)
        assert_type(variant.kind, Optional[Literal["video", "carousel", "image", "text"]])
        assert_type(variant.workflow_name, Optional[str])
        for artifact in variant.artifacts:
            assert_type(artifact.filename, str)
            assert_type(artifact.download_url, Optional[str])
    bundle = fabric.workflows.runs.submit_bundle(
        bundle=[{"workflow": "video/ai_shorts", "input": {"topic": "AI"}}],
    )
    assert_type(bundle, RunOutput)
    assert_type(fabric.get_run_output("run-id"), RunOutput)
    result.outputs[0].variant_index = "0"  # type: ignore[assignment]  # pyright: ignore[reportAttributeAccessIssue]


def schemas(fabric: FabricClient) -> None:
    schemas = fabric.get_workflow_schemas("research/trends")
    assert_type(schemas, types.WorkflowSchemas)
    assert_type(schemas["warnings"], List[str])


def pagination(fabric: FabricClient) -> None:
    assert_type(fabric.iter_jobs(limit=50), Iterator[types.Job])
    assert_type(fabric.iter_gallery_items("gallery-id", tags=["professional"]), Iterator[types.GalleryItem])
    assert_type(fabric.iter_org_audit_logs("org-id"), Iterator[types.AuditLog])
    for job in fabric.iter_jobs():
        assert_type(job, types.Job)
    fabric.iter_jobs(cursor="c")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def streams(fabric: FabricClient) -> None:
    stream = fabric.stream_events()
    assert_type(stream, EventStream)
    for event in stream:
        assert_type(event, StreamedEvent)
        assert_type(event["kind"], EventKind)
        assert_type(event["data"], Dict[str, Any])
        assert_type(event.get("data"), Optional[Dict[str, Any]])
        assert_type(event["run_id"], Optional[str])
        assert_type(event.id, Optional[str])
        assert_type(event.retry, Optional[int])
        assert_type(event.event, str)
        assert_type(event.json, types.Event)
        if event["kind"] == "workflow.run.completed":
            break
        takes_int(event["kind"])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        event["data"].upper()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    with fabric.stream_run_events("run-id") as run_events:
        assert_type(next(run_events)["kind"], EventKind)
        assert_type(run_events.last_event_id, Optional[str])
    for job_event in fabric.stream_job_events("job-id"):
        assert_type(job_event["kind"], EventKind)
    stream.close()


def errors() -> None:
    try:
        raise FabricNotFoundError("gone", status_code=404, code="not_found")
    except FabricValidationError as e:
        assert_type(e.status_code, int)
        assert_type(e.details, Optional[Dict[str, Any]])
        assert_type(e.response, Optional[httpx.Response])
        e.response.json()  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]
        if e.response is not None:
            assert_type(e.response.json(), Any)
    except FabricRateLimitError as e:
        assert_type(e.retry_after, Optional[float])
    except FabricAPIError as e:
        assert_type(e.code, str)
        assert_type(e.request_id, Optional[str])
    except FabricTimeoutError as e:
        assert_type(e, FabricTimeoutError)
    except FabricError as e:
        assert_type(str(e), str)


def webhooks(body: bytes, signature: Optional[str], secret: str) -> None:
    assert_type(verify_signature(body, signature, secret), bool)
    assert_type(compute_signature(body, secret), str)
    try:
        event = construct_event(body, signature, secret)
        assert_type(event, Dict[str, Any])
    except FabricSignatureError as e:
        assert_type(e, FabricSignatureError)
    verify_signature(body, signature)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def downloads(fabric: FabricClient, output: RunOutput) -> None:
    assert_type(fabric.download_asset("asset-id"), bytes)
    assert_type(fabric.download_asset("asset-id", "out/"), Path)
    assert_type(fabric.download_all_artifacts(output, "out/"), List[Path])
    assert_type(fabric.download_artifact(output.all_artifacts[0], "out/"), Path)
    fabric.download_all_artifacts(output)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]

"""Server-Sent Event streams: everything the caller may see, one run, one job."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain.orgs import visible_org_ids
from .._infra.events import JOB_TERMINAL_KINDS, RUN_TERMINAL_KINDS, sse_response
from .._infra.http import emulator_of, path_uuid, query_bool
from ._guards import current_principal, org_doc

RUN_KIND = "workflow_runs"
TERMINAL_STATUSES = ("completed", "failed", "cancelled")


async def stream_all(request: Request) -> Response:
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    include_internal = query_bool(request, "include_internal")
    only: Optional[str] = principal.organization_id if principal.via == "api_key" else None

    def org_ids() -> Sequence[str]:
        ids: List[str] = visible_org_ids(emulator, principal.id)
        # A key sees its own organization's events; a user session sees all of theirs.
        return [o for o in ids if only is None or o == only]

    return sse_response(request, emulator, org_ids=org_ids, include_internal=include_internal)


def _resource(request: Request, kind: str, param: str, what: str, area: str) -> Any:
    return org_doc(request, kind, path_uuid(request, param, what), f"{area}.read", what)


async def stream_run(request: Request) -> Response:
    emulator = emulator_of(request)
    run = _resource(request, RUN_KIND, "run_id", "run", "workflow")
    run_id, org_id = run["id"], run["organization_id"]

    def finished() -> bool:
        current = emulator.store.get(RUN_KIND, run_id) or {}
        return current.get("status") in TERMINAL_STATUSES

    return sse_response(
        request,
        emulator,
        org_ids=lambda: [org_id],
        run_id=run_id,
        include_internal=query_bool(request, "include_internal"),
        terminal_kinds=RUN_TERMINAL_KINDS,
        is_finished=finished,
    )


async def stream_job(request: Request) -> Response:
    emulator = emulator_of(request)
    job = _resource(request, "jobs", "job_id", "job", "job")
    job_id, org_id = job["id"], job["organization_id"]

    def finished() -> bool:
        current = emulator.store.get("jobs", job_id) or {}
        return current.get("status") in TERMINAL_STATUSES

    return sse_response(
        request,
        emulator,
        org_ids=lambda: [org_id],
        job_id=job_id,
        include_internal=query_bool(request, "include_internal"),
        terminal_kinds=JOB_TERMINAL_KINDS,
        is_finished=finished,
    )


routes = [
    Route("/v1/events/stream", stream_all, methods=["GET"], name="streamEvents"),
    Route("/v1/workflow-runs/{run_id}/events", stream_run, methods=["GET"], name="streamRunEvents"),
    Route("/v1/jobs/{job_id}/events", stream_job, methods=["GET"], name="streamJobEvents"),
]

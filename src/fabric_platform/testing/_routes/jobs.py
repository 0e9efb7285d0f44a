"""Jobs: one provider call run asynchronously (/v1/jobs/*).

queued → running → completed | failed, each step stored and announced as an event
(``job.created|started|completed|failed``). A job that asks for it fails on purpose:
``params.simulate_failure: true`` (or ``input.simulate_failure``) — the way tests reach the
failure path. Jobs still queued or running when the emulator stopped run again at start-up.

``idempotency_key`` in the body (the SDK also sends it as the header) makes creation
idempotent per organization: the same key and request return the first job; the same key
with another request is 409 ``idempotency_key_reused``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Dict, Optional

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain.budgets import check_budget
from .._domain.orgs import visible_org_ids
from .._domain.providers import resolve_model, simulate
from .._infra.http import (
    ApiError,
    body_uuid,
    emulator_of,
    json_body,
    ok,
    page_cursor,
    path_uuid,
    query_uuid,
    strip,
)
from ._guards import current_principal, default_org, org_doc, require_org_action

if TYPE_CHECKING:
    from .._state import Emulator

TERMINAL = ("completed", "failed", "cancelled")


class CreateJob(BaseModel):
    model_config = ConfigDict(strict=True)
    modality: str
    input: Dict[str, Any]
    params: Optional[Dict[str, Any]] = None
    organization_id: Optional[str] = None
    idempotency_key: Optional[str] = Field(default=None, min_length=1, max_length=255)


def public_job(doc: Dict[str, Any]) -> Dict[str, Any]:
    return strip(doc)


def _same_request(job: Dict[str, Any], body: CreateJob) -> bool:
    return (
        job["modality"] == body.modality and job["input"] == body.input and job.get("params") == body.params
    )


async def create_job(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, CreateJob)
    org_id = (
        body_uuid(body.organization_id, "organization_id") if body.organization_id else default_org(request)
    )
    require_org_action(request, org_id, "job.create")
    principal = current_principal(request)
    assert principal is not None
    params = body.params or {}
    model = params.get("model") if isinstance(params.get("model"), str) else None
    provider, model = resolve_model(body.modality, model)
    store = emulator.store
    if body.idempotency_key:
        previous = store.find_one("jobs", org_id=org_id, where={"idempotency_key": body.idempotency_key})
        if previous is not None and not emulator.clock.is_past(previous["_idempotency_expires_at"]):
            if not _same_request(previous, body):
                raise ApiError(
                    409,
                    "idempotency_key_reused",
                    "This idempotency_key was already used with a different job.",
                )
            return ok(public_job(previous))
        if previous is not None:  # expired: the key is free again
            store.update("jobs", previous["id"], idempotency_key=None)
    check_budget(emulator, org_id)
    now = emulator.clock.now_iso()
    job = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "modality": body.modality,
        "status": "queued",
        "input": body.input,
        "params": body.params,
        "output": None,
        "error": None,
        "idempotency_key": body.idempotency_key,
        "provider": provider,
        "model": model,
        "created_by": principal.id,
        "created_at": now,
        "started_at": None,
        "completed_at": None,
        "_idempotency_expires_at": emulator.clock.later_iso(emulator.config.idempotency_ttl),
    }
    store.insert("jobs", job)
    emulator.events.publish(
        "job.created",
        organization_id=org_id,
        job_id=job["id"],
        data={"status": "queued", "modality": body.modality},
    )
    emulator.spawn(run_job(emulator, job["id"]), name=f"job {job['id']}")
    return ok(public_job(job))


def _wants_failure(job: Dict[str, Any]) -> bool:
    return bool(
        (job.get("params") or {}).get("simulate_failure") or (job.get("input") or {}).get("simulate_failure")
    )


async def run_job(emulator: Emulator, job_id: str) -> None:
    """Drive one job to a terminal state (also used to resume after a restart)."""
    store, clock = emulator.store, emulator.clock
    job = store.get("jobs", job_id)
    if job is None or job["status"] in TERMINAL:
        return
    org_id = job["organization_id"]
    await clock.sleep(emulator.work_seconds(0.0) / 2)
    if job["status"] == "queued":
        job = store.update("jobs", job_id, status="running", started_at=clock.now_iso())
        assert job is not None
        emulator.events.publish(
            "job.started", organization_id=org_id, job_id=job_id, data={"status": "running"}
        )
    await clock.sleep(emulator.work_seconds(0.2))
    if _wants_failure(job):
        message = str((job.get("params") or {}).get("failure_message") or "The provider failed (simulated).")
        store.update("jobs", job_id, status="failed", error=message, completed_at=clock.now_iso())
        emulator.events.publish(
            "job.failed", organization_id=org_id, job_id=job_id, data={"status": "failed", "error": message}
        )
        return
    result = simulate(job["modality"], job.get("model"), job["input"], job.get("params"))
    usage = result["usage"]
    with store.transaction():
        store.insert(
            "usage_records",
            {
                "id": str(uuid.uuid4()),
                "organization_id": org_id,
                "job_id": job_id,
                "run_id": None,
                "modality": job["modality"],
                "provider": result["provider_id"],
                "model": result["model"],
                "units": usage["input_units"] + usage["output_units"],
                "input_units": usage["input_units"],
                "output_units": usage["output_units"],
                "cost_usd": usage["cost_usd"],
                "created_at": clock.now_iso(),
            },
        )
        store.update(
            "jobs", job_id, status="completed", output=result["output"], completed_at=clock.now_iso()
        )
    emulator.events.publish(
        "job.completed",
        organization_id=org_id,
        job_id=job_id,
        data={"status": "completed", "cost_usd": usage["cost_usd"]},
    )


def _visible_job(request: Request) -> Dict[str, Any]:
    return org_doc(request, "jobs", path_uuid(request, "job_id", "job"), "job.read", "job")


async def get_job(request: Request) -> Response:
    return ok(public_job(_visible_job(request)))


async def list_jobs(request: Request) -> Response:
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    only_org = query_uuid(request, "organization_id")
    org_ids = visible_org_ids(emulator, principal.id)
    if only_org:
        org_ids = [o for o in org_ids if o == only_org]
    if principal.scopes is not None and not principal.allows("job.read"):
        raise ApiError(403, "forbidden", "The API key lacks the scope 'job.read'.")
    jobs = []
    for org_id in org_ids:
        jobs.extend(emulator.store.find("jobs", org_id=org_id))
    jobs.sort(key=lambda j: j["created_at"], reverse=True)  # newest first
    return page_cursor([public_job(j) for j in jobs], request)


async def job_usage(request: Request) -> Response:
    emulator = emulator_of(request)
    job = _visible_job(request)
    record = emulator.store.find_one(
        "usage_records", org_id=job["organization_id"], where={"job_id": job["id"]}
    )
    return ok(
        {
            "job_id": job["id"],
            "provider": job.get("provider"),
            "model": job.get("model"),
            "input_units": record["input_units"] if record else 0,
            "output_units": record["output_units"] if record else 0,
            "cost_usd": record["cost_usd"] if record else 0,
        }
    )


async def on_startup(emulator: Emulator) -> None:
    for job in emulator.store.find("jobs", where=lambda d: d["status"] in ("queued", "running")):
        emulator.spawn(run_job(emulator, job["id"]), name=f"job {job['id']} (resumed)")


routes = [
    Route("/v1/jobs", create_job, methods=["POST"], name="createJob"),
    Route("/v1/jobs", list_jobs, methods=["GET"], name="listJobs"),
    Route("/v1/jobs/{job_id}", get_job, methods=["GET"], name="getJob"),
    Route("/v1/jobs/{job_id}/usage", job_usage, methods=["GET"], name="getJobUsage"),
]

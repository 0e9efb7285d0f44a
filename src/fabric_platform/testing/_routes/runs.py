"""Named workflow runs (``/v1/workflows/run``, ``/v1/workflows/runs/…``) and artifact downloads.

The registry, schemas, compose and estimate routes are their own area (``registry.py``), listed
right after this one in the route table.

Listing: ``GET /v1/workflows/runs`` returns every run of the organization (named and
definition runs alike), newest first, filtered by the contract's ``team_id`` / ``created_by``
and, beyond the contract, by ``status``, ``workflow_name`` and ``parent_run_id``.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, Optional
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .._engine.engine import ARTIFACTS, RUNS, public_run
from .._infra.http import (
    ApiError,
    emulator_of,
    invalid_field,
    is_uuid,
    json_body,
    not_found,
    ok,
    page_offset,
    query_bool,
    query_int,
    query_uuid,
)
from .._infra.signing import DEFAULT_EXPIRES_IN, MAX_EXPIRES_IN, SignatureInvalid
from ._guards import check_org, current_principal, default_org
from ._request import opt_int, opt_obj, opt_str
from ._runs import READ, RUN, engine_of, run_for, team_in_org

_CHUNK = 256 * 1024


def _base_url(request: Request) -> str:
    # Absolute URLs on the address the client used to reach us (works behind any port).
    return str(request.base_url).rstrip("/")


# ---------------------------------------------------------------- submit and list
async def submit_run(request: Request) -> Response:
    name = request.query_params.get("name")
    if not name:
        raise ApiError(
            400,
            "validation_error",
            "query parameter 'name' (the workflow name) is required",
            {"errors": [{"path": "name", "message": "is required"}]},
        )
    org_id = default_org(request)
    check_org(request, org_id, RUN)
    team_id = team_in_org(request, org_id, query_uuid(request, "team_id"))
    validate = query_bool(request, "validate")
    body = await json_body(request)
    data = body.get("input", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise invalid_field("input", "must be an object")
    metadata, priority = opt_obj(body, "metadata"), opt_int(body, "priority")
    principal = current_principal(request)
    run = engine_of(request).submit_named(
        org_id,
        name,
        data,
        team_id=team_id,
        metadata=metadata,
        priority=priority,
        created_by=principal.id if principal else None,
        validate=validate,
    )
    return ok(public_run(run))


def _listing(request: Request, *, status: Optional[str] = None) -> Response:
    org_id = default_org(request)
    check_org(request, org_id, READ)
    where: Dict[str, Any] = {}
    for key in ("team_id", "created_by", "parent_run_id"):
        value = query_uuid(request, key)
        if value is not None:
            where[key] = value
    status = status or request.query_params.get("status") or None
    if status is not None:
        where["status"] = status
    name = request.query_params.get("workflow_name")
    if name:
        where["workflow_name"] = name
    runs = emulator_of(request).store.find(RUNS, org_id=org_id, where=where)
    runs.reverse()  # newest first
    return page_offset([public_run(r) for r in runs], request)


async def list_runs(request: Request) -> Response:
    return _listing(request)


async def list_waiting(request: Request) -> Response:
    return _listing(request, status="waiting")


async def get_run(request: Request) -> Response:
    return ok(public_run(run_for(request, READ)))


async def get_output(request: Request) -> Response:
    run = run_for(request, READ)
    expires_in = query_int(request, "expires_in", DEFAULT_EXPIRES_IN, minimum=1, maximum=MAX_EXPIRES_IN)
    return ok(engine_of(request).run_output(run, _base_url(request), expires_in))


# ---------------------------------------------------------------- control
async def pause(request: Request) -> Response:
    run = run_for(request, RUN)
    body = await json_body(request, optional=True)
    return ok(public_run(engine_of(request).pause(run["id"], opt_str(body, "reason"))))


async def resume(request: Request) -> Response:
    run = run_for(request, RUN)
    body = await json_body(request, optional=True)
    opt_str(body, "reason")
    return ok(public_run(engine_of(request).resume(run["id"])))


async def recover(request: Request) -> Response:
    run = run_for(request, RUN)
    body = await json_body(request, optional=True)
    opt_str(body, "reason")
    return ok(public_run(engine_of(request).recover(run["id"])))


async def cancel(request: Request) -> Response:
    run = run_for(request, RUN)
    body = await json_body(request)
    if not isinstance(body.get("reason"), str):  # this variant of cancel exists to record one
        raise invalid_field("reason", "is required (a string)")
    return ok(public_run(engine_of(request).cancel(run["id"], body["reason"])))


async def signal(request: Request) -> Response:
    run = run_for(request, RUN)
    body = await json_body(request)
    name = body.get("signal_name")
    if not isinstance(name, str) or not name:
        raise ApiError(
            400,
            "validation_error",
            "signal_name is required",
            {"errors": [{"path": "signal_name", "message": "must be a non-empty string"}]},
        )
    return ok(public_run(engine_of(request).signal(run["id"], name, opt_obj(body, "payload"))))


async def approve(request: Request) -> Response:
    run = run_for(request, RUN)
    body = await json_body(request, optional=True)
    approved = body.get("approved", True)
    if not isinstance(approved, bool):
        raise invalid_field("approved", "must be a boolean")
    return ok(
        public_run(
            engine_of(request).approve(run["id"], approved, opt_str(body, "reason"), opt_obj(body, "data"))
        )
    )


# ---------------------------------------------------------------- artifacts and costs
async def list_artifacts(request: Request) -> Response:
    run = run_for(request, READ)
    engine = engine_of(request)
    base = _base_url(request)
    return ok([engine.public_artifact(a, base, DEFAULT_EXPIRES_IN) for a in engine.artifacts(run["id"])])


async def record_artifact(request: Request) -> Response:
    import uuid

    run = run_for(request, RUN)
    body = await json_body(request)
    errors = []
    for key in ("task_id", "filename"):
        if not isinstance(body.get(key), str) or not body[key]:
            errors.append({"path": key, "message": "is required (a non-empty string)"})
    for key in ("content_type", "asset_id", "produced_by", "artifact_type"):
        if body.get(key) is not None and not isinstance(body[key], str):
            errors.append({"path": key, "message": "must be a string or null"})
    consumed = body.get("consumed_from")
    # The public clients send a list of artifact ids; ours sends one string.
    if (
        consumed is not None
        and not isinstance(consumed, str)
        and not (isinstance(consumed, list) and all(isinstance(c, str) for c in consumed))
    ):
        errors.append({"path": "consumed_from", "message": "must be a string, a list of strings or null"})
    if (
        body.get("asset_id") is not None
        and isinstance(body["asset_id"], str)
        and not is_uuid(body["asset_id"])
    ):
        errors.append({"path": "asset_id", "message": "must be a UUID"})
    if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
        errors.append({"path": "metadata", "message": "must be an object or null"})
    variant_index = body.get("variant_index")
    if variant_index is not None and (
        isinstance(variant_index, bool)
        or not isinstance(variant_index, int)
        or not 0 <= variant_index < int(run.get("variants") or 1)
    ):
        errors.append({"path": "variant_index", "message": "must be the index of one of the run's variants"})
    if errors:
        raise ApiError(
            400,
            "validation_error",
            "invalid artifact: " + "; ".join(f"{e['path']} {e['message']}" for e in errors),
            {"errors": errors},
        )
    emulator = emulator_of(request)
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": run["organization_id"],
        "run_id": run["id"],
        "asset_id": body.get("asset_id"),
        "task_id": body["task_id"],
        "filename": body["filename"],
        "content_type": body.get("content_type"),
        "produced_by": body.get("produced_by"),
        "consumed_from": body.get("consumed_from"),
        "metadata": body.get("metadata") or {},
        # "source" when omitted: the default the public clients' RunArtifact model assumes.
        "artifact_type": body.get("artifact_type") or "source",
        "variant_index": variant_index if variant_index is not None else 0,
        "created_at": emulator.clock.now_iso(),
    }
    emulator.store.insert(ARTIFACTS, doc)
    return ok(engine_of(request).public_artifact(doc, _base_url(request), DEFAULT_EXPIRES_IN))


async def costs(request: Request) -> Response:
    return ok(engine_of(request).cost_breakdown(run_for(request, READ)))


# ---------------------------------------------------------------- signed downloads (no auth)
def _disposition(filename: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def download(request: Request) -> Response:
    """Serve an artifact's bytes to whoever holds a valid signed URL.

    The signature is checked before the artifact is looked up, so a bad URL cannot probe
    which artifact ids exist. The body streams chunk by chunk (generated in a worker thread
    by Starlette), so memory stays flat however large the file is.
    """
    emulator = emulator_of(request)
    engine = emulator.engine
    artifact_id = request.path_params["artifact_id"]
    try:
        engine.signer.verify(
            artifact_id,
            request.query_params.get("expires"),
            request.query_params.get("signature"),
            now=emulator.clock.now(),
        )
    except SignatureInvalid as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    doc = emulator.store.get(ARTIFACTS, artifact_id)
    spec = engine.artifact_spec(doc) if doc is not None else None
    if doc is None or spec is None:
        raise not_found("artifact")

    def chunks() -> Iterator[bytes]:
        yield from spec.iter_bytes(_CHUNK)

    headers = {
        "Content-Disposition": _disposition(doc["filename"]),
        "Cache-Control": "private, no-store",
    }
    size = getattr(spec, "size_bytes", None)
    if isinstance(size, int):
        headers["Content-Length"] = str(size)
    return StreamingResponse(
        chunks(), media_type=doc.get("content_type") or "application/octet-stream", headers=headers
    )


routes = [
    Route("/v1/workflows/run", submit_run, methods=["POST"], name="submitRun"),
    Route("/v1/workflows/runs", list_runs, methods=["GET"], name="listRuns"),
    Route("/v1/workflows/runs/waiting", list_waiting, methods=["GET"], name="listWaitingRuns"),
    Route("/v1/workflows/runs/{run_id}", get_run, methods=["GET"], name="getWorkflowRun"),
    Route("/v1/workflows/runs/{run_id}/output", get_output, methods=["GET"], name="getRunOutput"),
    Route("/v1/workflows/runs/{run_id}/pause", pause, methods=["POST"], name="pauseRun"),
    Route("/v1/workflows/runs/{run_id}/resume", resume, methods=["POST"], name="resumeRun"),
    Route("/v1/workflows/runs/{run_id}/recover", recover, methods=["POST"], name="recoverRun"),
    Route("/v1/workflows/runs/{run_id}/cancel", cancel, methods=["POST"], name="cancelRunWithReason"),
    Route("/v1/workflows/runs/{run_id}/signal", signal, methods=["POST"], name="signalRun"),
    Route("/v1/workflows/runs/{run_id}/approve", approve, methods=["POST"], name="approveRun"),
    Route("/v1/workflows/runs/{run_id}/artifacts", list_artifacts, methods=["GET"], name="listRunArtifacts"),
    Route(
        "/v1/workflows/runs/{run_id}/artifacts", record_artifact, methods=["POST"], name="recordRunArtifact"
    ),
    Route("/v1/workflows/runs/{run_id}/costs", costs, methods=["GET"], name="getCostBreakdown"),
    Route(
        "/v1/workflows/artifacts/{artifact_id}/download",
        download,
        methods=["GET"],
        name="downloadRunArtifact",
    ),
]

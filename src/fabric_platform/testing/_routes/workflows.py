"""Workflow definitions (id-based API), their runs (``/v1/workflow-runs``) and the node catalogue.

Runs of definitions and runs of named workflows are the same kind of object (the engine's
``workflow_runs``), so ``GET /v1/workflow-runs/{id}`` and ``GET /v1/workflows/runs/{id}``
both find either.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._engine.engine import DEFINITIONS, public_run
from .._engine.named import resolve
from .._engine.nodes import NODE_TYPES, node_catalogue, normalize_nodes
from .._infra.http import (
    ApiError,
    body_uuid,
    emulator_of,
    invalid_field,
    is_uuid,
    json_body,
    not_found,
    ok,
    path_uuid,
)
from ._guards import check_org, current_principal, default_org, org_doc
from ._request import opt_int, opt_obj, opt_str
from ._runs import EDIT, READ, RUN, engine_of, may, run_for

_DEF_FIELDS = ("id", "organization_id", "name", "version", "nodes", "defaults", "created_at", "updated_at")


def _public_definition(doc: Dict[str, Any]) -> Dict[str, Any]:
    return {k: doc.get(k) for k in _DEF_FIELDS}


# ---------------------------------------------------------------- definitions
async def upsert_definition(request: Request) -> Response:
    body = await json_body(request)
    org_id = default_org(
        request, body.get("organization_id") if isinstance(body.get("organization_id"), str) else None
    )
    check_org(request, org_id, EDIT)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ApiError(
            400,
            "validation_error",
            "name must be a non-empty string (at most 200 characters)",
            {"errors": [{"path": "name", "message": "must be a non-empty string"}]},
        )
    if "nodes" not in body:
        raise invalid_field("nodes", "is required")
    nodes, errors = normalize_nodes(body["nodes"])
    if errors:
        summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
        raise ApiError(400, "validation_error", f"invalid workflow nodes: {summary}", {"errors": errors})
    defaults = opt_obj(body, "defaults")
    store, now = emulator_of(request).store, emulator_of(request).clock.now_iso()
    doc = store.find_one(DEFINITIONS, org_id=org_id, where={"name": name})
    if doc is None:
        doc = {
            "id": str(uuid.uuid4()),
            "organization_id": org_id,
            "name": name,
            "version": 1,
            "nodes": nodes,
            "defaults": defaults,
            "created_at": now,
            "updated_at": now,
        }
        store.insert(DEFINITIONS, doc)
    else:
        doc.update(version=int(doc["version"]) + 1, nodes=nodes, defaults=defaults, updated_at=now)
        store.put(DEFINITIONS, doc)
    return ok(_public_definition(doc))


async def list_definitions(request: Request) -> Response:
    org_id = default_org(request)
    check_org(request, org_id, READ)
    docs = emulator_of(request).store.find(DEFINITIONS, org_id=org_id)
    return ok([_public_definition(d) for d in docs])


def _definition_for(request: Request, definition_id: str, action: str) -> Dict[str, Any]:
    return org_doc(request, DEFINITIONS, definition_id, action, "workflow definition")


async def get_definition(request: Request) -> Response:
    doc = _definition_for(request, path_uuid(request, "workflow_id", "workflow definition"), READ)
    return ok(_public_definition(doc))


# ---------------------------------------------------------------- runs of definitions
async def create_run(request: Request) -> Response:
    body = await json_body(request)
    given = body.get("workflow_definition_id")
    context = body.get("context", {})
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise invalid_field("context", "must be an object")
    metadata = opt_obj(body, "metadata")
    principal = current_principal(request)
    if isinstance(given, str) and given and not is_uuid(given):
        # The public clients' face_swap/ai_shorts/motion_transfer name the workflow here.
        return ok(public_run(_create_named_run(request, given, context, metadata)))
    definition_id = body_uuid(given, "workflow_definition_id")
    definition = _definition_for(request, definition_id, RUN)
    run = engine_of(request).create_definition_run(
        definition,
        context=context,
        metadata=metadata,
        environment=body.get("environment"),
        created_by=principal.id if principal else None,
    )
    return ok(public_run(run))


def _create_named_run(request: Request, name: str, context: Dict[str, Any], metadata: Any) -> Dict[str, Any]:
    """A pending run of a definition or named workflow called ``name`` (started by /start)."""
    emulator = emulator_of(request)
    org_id = default_org(request)
    check_org(request, org_id, RUN)
    definition = emulator.store.find_one(DEFINITIONS, org_id=org_id, where={"name": name})
    principal = current_principal(request)
    created_by = principal.id if principal else None
    if definition is not None:
        return engine_of(request).create_definition_run(
            definition, context=context, metadata=metadata, created_by=created_by
        )
    if resolve(emulator.store, org_id, name) is None:
        raise invalid_field(
            "workflow_definition_id",
            f"{name!r} is neither a definition id nor a workflow of this organization",
        )
    return engine_of(request).submit_named(
        org_id, name, context, metadata=metadata, created_by=created_by, start=False
    )


async def start_run(request: Request) -> Response:
    run = run_for(request, RUN)
    body = await json_body(request, optional=True)
    run = engine_of(request).start_run(run["id"], opt_int(body, "priority"))
    return ok(public_run(run), status=202)


async def get_run(request: Request) -> Response:
    return ok(public_run(run_for(request, READ)))


async def cancel_run(request: Request) -> Response:
    run = run_for(request, RUN)
    body = await json_body(request, optional=True)
    return ok(public_run(engine_of(request).cancel(run["id"], opt_str(body, "reason"))))


async def bulk_cancel(request: Request) -> Response:
    body = await json_body(request)
    run_ids = body.get("run_ids")
    if not isinstance(run_ids, list) or not all(isinstance(r, str) for r in run_ids) or len(run_ids) > 1000:
        raise ApiError(
            400,
            "validation_error",
            "run_ids must be an array of run ids (at most 1000)",
            {"errors": [{"path": "run_ids", "message": "must be an array of strings"}]},
        )
    bad = [{"path": f"run_ids.{i}", "message": "not a UUID"} for i, r in enumerate(run_ids) if not is_uuid(r)]
    if bad:  # the contract's ids are UUIDs; echoing junk back would break the response schema
        raise ApiError(400, "validation_error", "run_ids must be run ids (UUIDs)", {"errors": bad})
    valid = list(dict.fromkeys(str(uuid.UUID(r)) for r in run_ids))  # de-duplicated, order kept
    return ok(engine_of(request).bulk_cancel(valid, lambda run: may(request, run["organization_id"], RUN)))


async def run_log(request: Request) -> Response:
    return ok(engine_of(request).run_log(run_for(request, READ)))


async def run_children(request: Request) -> Response:
    run = run_for(request, READ)
    return ok([public_run(c) for c in engine_of(request).children(run["id"])])


async def resume_node(request: Request) -> Response:
    run = run_for(request, RUN)
    data = await json_body(request, optional=True)
    key = request.path_params["node_key"]
    return ok(public_run(engine_of(request).resume_node(run["id"], key, data)))


# ---------------------------------------------------------------- node catalogue
async def list_nodes(request: Request) -> Response:
    current_principal(request)
    return ok(node_catalogue())


async def get_node(request: Request) -> Response:
    current_principal(request)
    node_id = request.path_params["node_id"]
    if node_id not in NODE_TYPES:
        raise not_found("node type")
    return ok(next(n for n in node_catalogue() if n["id"] == node_id))


routes = [
    Route("/v1/workflow-definitions", upsert_definition, methods=["POST"], name="upsertWorkflow"),
    Route("/v1/workflow-definitions", list_definitions, methods=["GET"], name="listWorkflows"),
    Route("/v1/workflow-definitions/{workflow_id}", get_definition, methods=["GET"], name="getWorkflow"),
    Route("/v1/workflow-runs", create_run, methods=["POST"], name="createWorkflowRunLegacy"),
    Route("/v1/workflow-runs/bulk-cancel", bulk_cancel, methods=["POST"], name="bulkCancelRuns"),
    Route("/v1/workflow-runs/{run_id}", get_run, methods=["GET"], name="getRun"),
    Route("/v1/workflow-runs/{run_id}/start", start_run, methods=["POST"], name="startWorkflowRunLegacy"),
    Route("/v1/workflow-runs/{run_id}/cancel", cancel_run, methods=["POST"], name="cancelRun"),
    Route("/v1/workflow-runs/{run_id}/log", run_log, methods=["GET"], name="runLog"),
    Route("/v1/workflow-runs/{run_id}/children", run_children, methods=["GET"], name="listChildren"),
    Route(
        "/v1/workflow-runs/{run_id}/nodes/{node_key}/resume", resume_node, methods=["POST"], name="resumeNode"
    ),
    Route("/v1/nodes", list_nodes, methods=["GET"], name="listNodes"),
    Route("/v1/nodes/{node_id}", get_node, methods=["GET"], name="getNode"),
]

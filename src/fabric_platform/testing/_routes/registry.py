"""Registry, schemas, compose and estimate routes (served by ``runs.py``).

Workflow names are hierarchical and travel in the path with their slashes unescaped
(``/v1/workflow-registry/research/trends``), hence the ``:path`` converter. A client that
percent-encodes the slash (``research%2Ftrends``) reaches the same route: the server decodes
the path before routing.
"""

from __future__ import annotations

from typing import Optional, Tuple

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._engine import estimates, registry
from .._infra.http import ApiError, emulator_of, json_body, ok, query_uuid
from ._guards import check_org, default_org
from ._runs import EDIT, READ, team_in_org


def _name(request: Request) -> str:
    name = str(request.path_params.get("workflow_name") or "").strip("/")
    if not name:
        raise ApiError(404, "not_found", "no workflow name in the path")
    return name


def _org_team(request: Request, action: str) -> Tuple[str, Optional[str]]:
    org_id = default_org(request)
    check_org(request, org_id, action)
    return org_id, team_in_org(request, org_id, query_uuid(request, "team_id"))


async def list_registry(request: Request) -> Response:
    org_id, team_id = _org_team(request, READ)
    return ok(registry.list_entries(emulator_of(request).store, org_id, team_id))


async def get_registry_entry(request: Request) -> Response:
    org_id, _ = _org_team(request, READ)
    return ok(registry.get_entry(emulator_of(request).store, org_id, _name(request)))


async def upsert_registry_entry(request: Request) -> Response:
    body = await json_body(request)
    given = body.get("organization_id")
    org_id = default_org(request, given if isinstance(given, str) else None)
    check_org(request, org_id, EDIT)
    team_id = team_in_org(request, org_id, query_uuid(request, "team_id"))
    emulator = emulator_of(request)
    return ok(registry.upsert_entry(emulator.store, emulator.clock, org_id, team_id, body))


async def delete_registry_entry(request: Request) -> Response:
    org_id, _ = _org_team(request, EDIT)
    registry.delete_entry(emulator_of(request).store, org_id, _name(request))
    return ok(None)


async def workflow_schemas(request: Request) -> Response:
    org_id = default_org(request)
    check_org(request, org_id, READ)
    return ok(registry.schemas(emulator_of(request).store, org_id, _name(request)))


async def compose(request: Request) -> Response:
    body = await json_body(request)
    given = body.get("organization_id")
    org_id = default_org(request, given if isinstance(given, str) else None)
    check_org(request, org_id, EDIT)
    emulator = emulator_of(request)
    return ok(registry.compose(emulator.store, emulator.clock, org_id, None, body))


async def estimate(request: Request) -> Response:
    name = request.query_params.get("name")
    if not name:
        raise ApiError(
            400,
            "validation_error",
            "query parameter 'name' (the workflow name) is required",
            {"errors": [{"path": "name", "message": "is required"}]},
        )
    org_id = default_org(request)
    check_org(request, org_id, READ)
    body = await json_body(request, optional=True)
    return ok(estimates.estimate(emulator_of(request).store, org_id, name, body))


routes = [
    Route("/v1/workflows/estimate", estimate, methods=["POST"], name="estimateWorkflowCost"),
    Route("/v1/workflows/compose", compose, methods=["POST"], name="composeWorkflow"),
    Route("/v1/workflow-registry", list_registry, methods=["GET"], name="listWorkflowRegistry"),
    Route(
        "/v1/workflow-registry", upsert_registry_entry, methods=["POST"], name="upsertWorkflowRegistryEntry"
    ),
    Route(
        "/v1/workflow-registry/{workflow_name:path}",
        get_registry_entry,
        methods=["GET"],
        name="getWorkflowRegistryEntry",
    ),
    Route(
        "/v1/workflow-registry/{workflow_name:path}",
        delete_registry_entry,
        methods=["DELETE"],
        name="deleteWorkflowRegistryEntry",
    ),
    Route(
        "/v1/workflow-schemas/{workflow_name:path}",
        workflow_schemas,
        methods=["GET"],
        name="getWorkflowSchemas",
    ),
]

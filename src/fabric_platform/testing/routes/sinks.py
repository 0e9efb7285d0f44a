"""HTTP sinks (/v1/organizations/{org_id}/sinks, /v1/sinks/*) and workflow packages (/v1/packages).

A sink maps a trigger path of an organization to a named workflow: JSON POSTed to
``/v1/sinks/trigger/{org_id}/{path}`` is submitted as that workflow's input, by the caller (who
needs ``workflow.run`` in the organization), and the new run is the answer.

Packages are the emulator's built-in workflows grouped by their first name segment
(``video/*`` …), each at the emulator's version.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from typing import Any, Dict, List

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._version import __version__
from .._engine import public_run
from .._engine_named import BUNDLE, resolve
from .._http import (
    ApiError,
    current_principal,
    emulator_of,
    json_body,
    not_found,
    ok,
    path_uuid,
    require_org_action,
    strip,
)
from .._route_helpers import check_org, invalid_field, name_field, opt_str, org_doc
from ._run_access import RUN, engine_of

SINKS = "sinks"
_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def public_sink(doc: Dict[str, Any]) -> Dict[str, Any]:
    return strip(doc)


async def create_sink(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "sink.create")
    body = await json_body(request)
    name, path, workflow = body.get("name"), body.get("path"), body.get("workflow_name")
    name = name_field(name)
    if not isinstance(path, str) or not _PATH.match(path):
        raise invalid_field("path", "must be one URL segment: letters, digits, '.', '_', '-' (at most 128)")
    if not isinstance(workflow, str) or (
        workflow != BUNDLE and resolve(emulator.store, org_id, workflow) is None
    ):
        raise invalid_field("workflow_name", f"{workflow!r} is not a workflow of this organization")
    description = opt_str(body, "description", message="must be a string")
    principal = current_principal(request)
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "name": name,
        "path": path,
        "workflow_name": workflow,
        "description": description,
        "active": True,
        "created_by": principal.id if principal else None,
        "created_at": emulator.clock.now_iso(),
    }
    store = emulator.store
    with store.transaction():
        if store.find_one(SINKS, org_id=org_id, where={"path": path}) is not None:
            raise ApiError(409, "conflict", f"The organization already has a sink at path {path!r}.")
        store.insert(SINKS, doc)
    return ok(public_sink(doc))


async def list_sinks(request: Request) -> Response:
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "sink.read")
    return ok([public_sink(d) for d in emulator_of(request).store.find(SINKS, org_id=org_id)])


def _sink_for(request: Request, action: str) -> Dict[str, Any]:
    return org_doc(request, SINKS, path_uuid(request, "sink_id", "sink"), action, "sink")


async def get_sink(request: Request) -> Response:
    return ok(public_sink(_sink_for(request, "sink.read")))


async def delete_sink(request: Request) -> Response:
    doc = _sink_for(request, "sink.delete")
    emulator_of(request).store.delete(SINKS, doc["id"])
    return ok(None)


async def trigger_sink(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    check_org(request, org_id, RUN, "sink")
    sink = emulator.store.find_one(SINKS, org_id=org_id, where={"path": request.path_params.get("path", "")})
    if sink is None or not sink.get("active", True):
        raise not_found("sink")
    payload = await json_body(request)
    principal = current_principal(request)
    run = engine_of(request).submit_named(
        org_id,
        sink["workflow_name"],
        payload,
        metadata={"sink_id": sink["id"], "sink_path": sink["path"]},
        created_by=principal.id if principal else None,
    )
    return ok(public_run(run))


async def list_packages(request: Request) -> Response:
    from .._catalog import BUILTINS

    current_principal(request)
    groups: Dict[str, List[str]] = defaultdict(list)
    for name in BUILTINS:
        groups[name.split("/", 1)[0]].append(name)
    return ok(
        [
            {
                "name": f"fabric/{group}",
                "version": __version__,
                "description": f"Built-in {group} workflows of the Fabric emulator.",
                "workflows": sorted(names),
            }
            for group, names in sorted(groups.items())
        ]
    )


routes = [
    Route("/v1/organizations/{org_id}/sinks", create_sink, methods=["POST"], name="createSink"),
    Route("/v1/organizations/{org_id}/sinks", list_sinks, methods=["GET"], name="listSinks"),
    Route("/v1/sinks/trigger/{org_id}/{path}", trigger_sink, methods=["POST"], name="triggerSink"),
    Route("/v1/sinks/{sink_id}", get_sink, methods=["GET"], name="getSink"),
    Route("/v1/sinks/{sink_id}", delete_sink, methods=["DELETE"], name="deleteSink"),
    Route("/v1/packages", list_packages, methods=["GET"], name="listPackages"),
]

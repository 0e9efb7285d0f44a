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
from typing import TYPE_CHECKING, Any, Dict, List

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._version import __version__
from .._domain.scheduler import check_cron, check_timezone
from .._engine.engine import public_run
from .._engine.named import BUNDLE, resolve
from .._infra.http import ApiError, emulator_of, invalid_field, json_body, not_found, ok, path_uuid, strip
from ._guards import check_org, current_principal, org_doc, require_org_action
from ._request import name_field, opt_str
from ._runs import RUN, engine_of

if TYPE_CHECKING:
    from .._state import Emulator

SINKS = "sinks"
_PATH = re.compile(r"^(?=.{1,128}$)[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


def public_sink(doc: Dict[str, Any]) -> Dict[str, Any]:
    return strip(doc)


SINK_TYPES = ("http", "cron")


def _opt_object(body: Dict[str, Any], key: str) -> Any:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise invalid_field(key, "must be a JSON object or null")
    return value


def _sink_fields(emulator: Emulator, org_id: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Validate a create body (ours: name/path/workflow_name; the public clients' sink_type…)."""
    sink_type = body.get("sink_type", "http")
    if sink_type not in SINK_TYPES:
        raise invalid_field("sink_type", f"must be one of {', '.join(SINK_TYPES)}")
    path, workflow = body.get("path"), body.get("workflow_name")
    if not isinstance(workflow, str) or (
        workflow != BUNDLE and resolve(emulator.store, org_id, workflow) is None
    ):
        raise invalid_field("workflow_name", f"{workflow!r} is not a workflow of this organization")
    cron, timezone = body.get("cron_expression"), body.get("timezone")
    if sink_type == "http":
        if not isinstance(path, str) or not _PATH.match(path):
            raise invalid_field(
                "path", "must be URL segments of letters, digits, '.', '_', '-' joined by '/' (at most 128)"
            )
    else:
        if path is not None:
            raise invalid_field("path", "is for http sinks; a cron sink has cron_expression")
        cron = check_cron(cron)
    tz = check_timezone(timezone) if timezone is not None or sink_type == "cron" else None
    active = body.get("active", True)
    if not isinstance(active, bool):
        raise invalid_field("active", "must be a boolean")
    name = body.get("name", path or f"{workflow} ({cron})")
    return {
        "name": name_field(name),
        "sink_type": sink_type,
        "path": path,
        "workflow_name": workflow,
        "cron_expression": cron if sink_type == "cron" else None,
        "timezone": tz,
        "verification": _opt_object(body, "verification"),
        "default_payload": _opt_object(body, "default_payload"),
        "input_context": _opt_object(body, "input_context"),
        "description": opt_str(body, "description", message="must be a string"),
        "active": active,
    }


async def create_sink(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "sink.create")
    body = await json_body(request)
    fields = _sink_fields(emulator, org_id, body)
    principal = current_principal(request)
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        **fields,
        "created_by": principal.id if principal else None,
        "created_at": emulator.clock.now_iso(),
    }
    path = fields["path"]
    store = emulator.store
    with store.transaction():
        if path is not None and store.find_one(SINKS, org_id=org_id, where={"path": path}) is not None:
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
    # The public clients may POST no body ("payload=None"): the sink's default payload is the input.
    payload = await json_body(request, optional=True)
    given = {**(sink.get("default_payload") or {}), **(sink.get("input_context") or {}), **payload}
    principal = current_principal(request)
    run = engine_of(request).submit_named(
        org_id,
        sink["workflow_name"],
        given,
        metadata={"sink_id": sink["id"], "sink_path": sink["path"]},
        created_by=principal.id if principal else None,
    )
    answer = public_run(run)
    # The public clients read {run_id, accepted, message}; the run's own fields stay beside them.
    answer.update(run_id=answer["id"], accepted=True, message=f"Run {answer['id']} accepted.")
    return ok(answer)


async def list_packages(request: Request) -> Response:
    from .._catalogue.builtins import BUILTINS

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
    Route("/v1/sinks/trigger/{org_id}/{path:path}", trigger_sink, methods=["POST"], name="triggerSink"),
    Route("/v1/sinks/{sink_id}", get_sink, methods=["GET"], name="getSink"),
    Route("/v1/sinks/{sink_id}", delete_sink, methods=["DELETE"], name="deleteSink"),
    Route("/v1/packages", list_packages, methods=["GET"], name="listPackages"),
]

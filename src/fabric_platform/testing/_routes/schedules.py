"""Cron schedules of workflow definitions (/v1/workflow-definitions/{id}/schedules, /v1/schedules/*).

Firing lives in ``_domain.scheduler``; this module validates, stores and reports. A schedule belongs
to its definition's organization: reads need ``workflow.read``, changes ``workflow.edit``, a
manual trigger ``workflow.run``. Beyond the contract's fields, the body may carry
``concurrency_policy`` (``allow`` | ``forbid`` | ``replace``).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Dict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain.scheduler import (
    SCHEDULE_RUNS,
    SCHEDULES,
    check_cron,
    check_policy,
    check_timezone,
    next_fire,
    scheduler_of,
)
from .._engine.engine import DEFINITIONS
from .._infra.http import emulator_of, invalid_field, json_body, ok, path_uuid, strip
from ._guards import current_principal, org_doc
from ._runs import EDIT, READ, RUN

if TYPE_CHECKING:
    from .._state import Emulator

_FIELDS = (
    "id",
    "organization_id",
    "workflow_definition_id",
    "cron_expression",
    "timezone",
    "enabled",
    "input_context",
    "concurrency_policy",
    "next_run_at",
    "last_run_at",
    "last_error",
    "created_by",
    "created_at",
    "updated_at",
)


def public_schedule(doc: Dict[str, Any]) -> Dict[str, Any]:
    return {k: doc.get(k) for k in _FIELDS}


def _input_context(body: Dict[str, Any]) -> Any:
    value = body.get("input_context")
    if value is not None and not isinstance(value, dict):
        raise invalid_field("input_context", "must be an object or null")
    return value


def _enabled(body: Dict[str, Any]) -> bool:
    value = body["enabled"]
    if not isinstance(value, bool):
        raise invalid_field("enabled", "must be a boolean")
    return value


def _schedule_for(request: Request, action: str) -> Dict[str, Any]:
    return org_doc(request, SCHEDULES, path_uuid(request, "schedule_id", "schedule"), action, "schedule")


def _definition_for(request: Request, action: str) -> Dict[str, Any]:
    definition_id = path_uuid(request, "workflow_definition_id", "workflow definition")
    return org_doc(request, DEFINITIONS, definition_id, action, "workflow definition")


async def create_schedule(request: Request) -> Response:
    definition = _definition_for(request, EDIT)
    body = await json_body(request)
    emulator = emulator_of(request)
    cron = check_cron(body.get("cron_expression"))
    tz = check_timezone(body.get("timezone", "UTC"))
    policy = check_policy(body.get("concurrency_policy", "allow"))
    enabled = _enabled(body) if "enabled" in body else True
    principal = current_principal(request)
    now = emulator.clock.now_iso()
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": definition["organization_id"],
        "workflow_definition_id": definition["id"],
        "cron_expression": cron,
        "timezone": tz,
        "enabled": enabled,
        "input_context": _input_context(body),
        "concurrency_policy": policy,
        "next_run_at": next_fire(cron, tz, emulator.clock.now()) if enabled else None,
        "last_run_at": None,
        "last_error": None,
        "created_by": principal.id if principal else None,
        "created_at": now,
        "updated_at": now,
    }
    emulator.store.insert(SCHEDULES, doc)
    scheduler_of(emulator).wake()  # it may now have an earlier time to sleep until
    return ok(public_schedule(doc))


async def list_schedules(request: Request) -> Response:
    definition = _definition_for(request, READ)
    docs = emulator_of(request).store.find(
        SCHEDULES, org_id=definition["organization_id"], where={"workflow_definition_id": definition["id"]}
    )
    return ok([public_schedule(d) for d in docs])


async def get_schedule(request: Request) -> Response:
    return ok(public_schedule(_schedule_for(request, READ)))


async def update_schedule(request: Request) -> Response:
    doc = _schedule_for(request, EDIT)
    body = await json_body(request)
    emulator = emulator_of(request)
    changes: Dict[str, Any] = {}
    if "cron_expression" in body:
        changes["cron_expression"] = check_cron(body["cron_expression"])
    if "timezone" in body:
        changes["timezone"] = check_timezone(body["timezone"])
    if "enabled" in body:
        changes["enabled"] = _enabled(body)
    if "input_context" in body:
        changes["input_context"] = _input_context(body)
    if "concurrency_policy" in body:
        changes["concurrency_policy"] = check_policy(body["concurrency_policy"])
    merged = {**doc, **changes}
    # Recompute from now whenever timing changes; a disabled schedule has no next time.
    if merged["enabled"]:
        if not doc["enabled"] or {"cron_expression", "timezone"} & set(changes) or not doc.get("next_run_at"):
            changes["next_run_at"] = next_fire(
                merged["cron_expression"], merged["timezone"], emulator.clock.now()
            )
    else:
        changes["next_run_at"] = None
    changes["updated_at"] = emulator.clock.now_iso()
    updated = emulator.store.update(SCHEDULES, doc["id"], **changes)
    assert updated is not None
    scheduler_of(emulator).wake()
    return ok(public_schedule(updated))


async def delete_schedule(request: Request) -> Response:
    doc = _schedule_for(request, EDIT)
    emulator_of(request).store.delete(SCHEDULES, doc["id"])
    return ok(None)


async def trigger_schedule(request: Request) -> Response:
    doc = _schedule_for(request, RUN)
    emulator = emulator_of(request)
    entry = scheduler_of(emulator).fire(doc, "manual")
    assert entry is not None  # a manual trigger either runs or raises
    return ok({"run_id": entry["run_id"], "schedule_id": doc["id"], "triggered_at": entry["triggered_at"]})


async def schedule_history(request: Request) -> Response:
    doc = _schedule_for(request, READ)
    emulator = emulator_of(request)
    engine = emulator.engine
    result = []
    for entry in emulator.store.find(SCHEDULE_RUNS, where={"schedule_id": doc["id"]}):
        run = engine.get(entry["run_id"])
        item = strip(entry, "id", "organization_id", "schedule_id")
        # A run deleted since (it cannot be today) would still be reported, as cancelled.
        item["status"] = run["status"] if run is not None else "cancelled"
        result.append(item)
    result.reverse()  # newest first
    return ok(result)


async def on_startup(emulator: Emulator) -> None:
    scheduler_of(emulator).start()


routes = [
    Route(
        "/v1/workflow-definitions/{workflow_definition_id}/schedules",
        create_schedule,
        methods=["POST"],
        name="createSchedule",
    ),
    Route(
        "/v1/workflow-definitions/{workflow_definition_id}/schedules",
        list_schedules,
        methods=["GET"],
        name="listSchedules",
    ),
    Route("/v1/schedules/{schedule_id}", get_schedule, methods=["GET"], name="getSchedule"),
    Route("/v1/schedules/{schedule_id}", update_schedule, methods=["PATCH"], name="updateSchedule"),
    Route("/v1/schedules/{schedule_id}", delete_schedule, methods=["DELETE"], name="deleteSchedule"),
    Route("/v1/schedules/{schedule_id}/trigger", trigger_schedule, methods=["POST"], name="triggerSchedule"),
    Route("/v1/schedules/{schedule_id}/history", schedule_history, methods=["GET"], name="scheduleHistory"),
]

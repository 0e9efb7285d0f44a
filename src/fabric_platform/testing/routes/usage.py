"""Usage and audit logs: /v1/organizations/{org_id}/usage[/records|/daily|/spending],
/v1/organizations/{org_id}/audit-logs and /v1/audit-logs.

Figures come from ``_usage.py`` (computed from the usage records); audit entries are written by
the request pipeline (``_audit.py``). Both lists are cursor pages, newest first.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import _usage
from .._audit import AUDIT
from .._http import current_principal, emulator_of, ok, page_cursor, path_uuid, require_org_action, strip


def _org(request: Request, action: str = "usage.read") -> str:
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, action)
    return org_id


async def org_usage(request: Request) -> Response:
    return ok(_usage.org_usage(emulator_of(request), _org(request)))


async def usage_records(request: Request) -> Response:
    docs = _usage.records(emulator_of(request), _org(request))
    docs.reverse()  # newest first
    return page_cursor([strip(d, "organization_id") for d in docs], request)


async def usage_daily(request: Request) -> Response:
    return ok(_usage.daily(emulator_of(request), _org(request)))


async def spending(request: Request) -> Response:
    return ok(_usage.spending(emulator_of(request), _org(request)))


async def org_audit_logs(request: Request) -> Response:
    org_id = _org(request, "audit.read")
    entries = emulator_of(request).store.find(AUDIT, org_id=org_id)
    entries.reverse()
    return page_cursor(entries, request)


async def my_audit_logs(request: Request) -> Response:
    principal = current_principal(request)
    assert principal is not None
    entries = emulator_of(request).store.find(AUDIT, where={"actor_id": principal.id})
    entries.reverse()
    return page_cursor(entries, request)


async def on_startup(emulator: Any) -> None:
    # Budgets also cover runs: the engine asks before creating a top-level run.
    if emulator.engine is not None:
        emulator.engine.admit = lambda org_id, name, data: _usage.admit_run(emulator, org_id, name, data)


routes = [
    Route("/v1/organizations/{org_id}/usage", org_usage, methods=["GET"], name="getOrgUsage"),
    Route(
        "/v1/organizations/{org_id}/usage/records", usage_records, methods=["GET"], name="getOrgUsageRecords"
    ),
    Route("/v1/organizations/{org_id}/usage/daily", usage_daily, methods=["GET"], name="getOrgUsageDaily"),
    Route("/v1/organizations/{org_id}/usage/spending", spending, methods=["GET"], name="getSpending"),
    Route("/v1/organizations/{org_id}/audit-logs", org_audit_logs, methods=["GET"], name="getOrgAuditLogs"),
    Route("/v1/audit-logs", my_audit_logs, methods=["GET"], name="getAuditLogs"),
]

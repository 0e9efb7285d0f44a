"""Usage and audit logs: /v1/organizations/{org_id}/usage[/records|/daily|/spending],
/v1/organizations/{org_id}/audit-logs and /v1/audit-logs.

Figures come from ``_domain.usage`` (computed from the usage records); audit entries are written by
the request pipeline (``_domain.audit``). Both lists are cursor pages, newest first.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain import usage as _usage
from .._domain.audit import AUDIT
from .._infra.http import emulator_of, ok, page_cursor, path_uuid, strip
from ._guards import current_principal, require_org_action


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

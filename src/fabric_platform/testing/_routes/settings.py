"""Organization settings and monthly budget: /v1/organizations/{org_id}/settings|budget.

Spend is the sum of this calendar month's usage records (``usage_records``, written by jobs
and runs), so the budget and the usage endpoints agree by construction.
"""

from __future__ import annotations

from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain.budgets import budget_for
from .._domain.orgs import check_role
from .._domain.settings import settings_for
from .._infra.http import emulator_of, json_body, ok, path_uuid, validate
from ._guards import require_org_action


class SettingsPatch(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    default_member_role: Optional[str] = None
    require_totp: Optional[bool] = None
    allowed_email_domains: Optional[List[str]] = None
    data_retention_days: Optional[int] = Field(default=None, ge=1)


class BudgetBody(BaseModel):
    model_config = ConfigDict(strict=True)
    monthly_limit_usd: Optional[float] = Field(ge=0)


async def get_settings(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "settings.read")
    return ok(settings_for(emulator, org_id))


async def update_settings(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "settings.manage")
    payload = await json_body(request)
    body = validate(SettingsPatch, payload)
    if body.default_member_role is not None:
        check_role(body.default_member_role, "default_member_role")
    stored = emulator.store.get("org_settings", org_id) or {"id": org_id}
    for key, value in payload.items():
        if key not in ("id", "organization_id"):
            stored[key] = value
    emulator.store.put("org_settings", stored)
    return ok(settings_for(emulator, org_id))


async def get_budget(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "budget.read")
    return ok(budget_for(emulator, org_id))


async def set_budget(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "budget.manage")
    body = await json_body(request, BudgetBody)
    emulator.store.put(
        "org_budgets", {"id": org_id, "organization_id": org_id, "monthly_limit_usd": body.monthly_limit_usd}
    )
    return ok(budget_for(emulator, org_id))


routes = [
    Route("/v1/organizations/{org_id}/settings", get_settings, methods=["GET"], name="getOrgSettings"),
    Route(
        "/v1/organizations/{org_id}/settings", update_settings, methods=["PATCH"], name="updateOrgSettings"
    ),
    Route("/v1/organizations/{org_id}/budget", get_budget, methods=["GET"], name="getOrgBudget"),
    Route("/v1/organizations/{org_id}/budget", set_budget, methods=["PUT"], name="setOrgBudget"),
]

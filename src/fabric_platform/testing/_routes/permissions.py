"""Explicit permission grants and role resolution (/v1/permissions/*, org permissions).

A grant names a principal, an action and a resource (``<type>:<id>`` or ``<type>:all``) with
effect allow or deny. ``/v1/authz/check`` consults grants before roles: a matching deny wins,
then a matching allow, then the role rule.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain.orgs import ROLE_RANK, membership
from .._infra.http import ApiError, body_uuid, emulator_of, json_body, ok, path_uuid, query_uuid, strip
from ._guards import current_principal, default_org, org_doc, require_org_action


class GrantBody(BaseModel):
    model_config = ConfigDict(strict=True)
    principal_id: str
    action: str = Field(min_length=1, max_length=200)
    # Without a resource a grant covers every resource ('*'), as the public clients send it.
    resource: str = Field(default="*", min_length=1, max_length=300)
    effect: str = "allow"
    organization_id: Optional[str] = None


async def grant(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, GrantBody)
    org_id = (
        body_uuid(body.organization_id, "organization_id") if body.organization_id else default_org(request)
    )
    require_org_action(request, org_id, "member.manage")
    principal_id = body_uuid(body.principal_id, "principal_id")
    if body.effect not in ("allow", "deny"):
        raise ApiError(400, "validation_error", "effect must be allow or deny.")
    if ":" not in body.resource and body.resource != "*":
        raise ApiError(400, "validation_error", "resource must be '<type>:<id>', '<type>:all' or '*'.")
    doc = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "principal_id": principal_id,
        "action": body.action,
        "resource": body.resource,
        "effect": body.effect,
        "created_at": emulator.clock.now_iso(),
    }
    emulator.store.insert("permission_grants", doc)
    return ok(doc)


def _grants_visible(request: Request, org_id: str, principal_filter: Optional[str]) -> List[Dict[str, Any]]:
    emulator = emulator_of(request)
    caller = current_principal(request)
    assert caller is not None
    member = require_org_action(request, org_id, "member.read")
    grants = emulator.store.find("permission_grants", org_id=org_id)
    if ROLE_RANK[member["role"]] < ROLE_RANK["admin"]:
        grants = [g for g in grants if g["principal_id"] == caller.id]
    if principal_filter:
        grants = [g for g in grants if g["principal_id"] == principal_filter]
    return [strip(g) for g in grants]


async def list_grants(request: Request) -> Response:
    org_id = query_uuid(request, "organization_id") or default_org(request)
    return ok(_grants_visible(request, org_id, query_uuid(request, "principal_id")))


async def org_permissions(request: Request) -> Response:
    org_id = path_uuid(request, "org_id", "organization")
    return ok(_grants_visible(request, org_id, None))


async def revoke(request: Request) -> Response:
    emulator = emulator_of(request)
    grant_id = path_uuid(request, "permission_id", "permission")
    org_doc(request, "permission_grants", grant_id, "member.manage", "permission")
    emulator.store.delete("permission_grants", grant_id)
    return ok(None)


def _org_role(request: Request, org_id: str) -> Dict[str, Any]:
    """The principal's (default: the caller's) role in ``org_id`` as a RoleResolution."""
    caller = current_principal(request)
    assert caller is not None
    require_org_action(request, org_id, "member.read")
    principal_id = query_uuid(request, "principal_id") or caller.id
    member = membership(emulator_of(request), principal_id, org_id)
    return {
        "principal_id": principal_id,
        "organization_id": org_id,
        "workspace_id": None,
        "role": member["role"] if member else None,
    }


async def resolve_org(request: Request) -> Response:
    return ok(_org_role(request, query_uuid(request, "organization_id") or default_org(request)))


async def resolve_workspace(request: Request) -> Response:
    emulator = emulator_of(request)
    caller = current_principal(request)
    assert caller is not None
    team_id = query_uuid(request, "workspace_id") or query_uuid(request, "team_id")
    if team_id is None:
        # The public clients name the organization (and optionally a team): without a team the
        # workspace is the organization itself, and the answer is the org role.
        org_id = query_uuid(request, "organization_id")
        if org_id is None:
            raise ApiError(
                400,
                "validation_error",
                "Query parameter 'workspace_id' (or 'team_id' or 'organization_id') is required.",
                {"errors": [{"path": "workspace_id", "message": "is required"}]},
            )
        return ok(_org_role(request, org_id))
    team = org_doc(request, "teams", team_id, "member.read", "workspace")
    principal_id = query_uuid(request, "principal_id") or caller.id
    team_member = emulator.store.find_one(
        "memberships",
        org_id=team["organization_id"],
        where={"principal_id": principal_id, "team_id": team_id, "active": True},
    )
    return ok(
        {
            "principal_id": principal_id,
            "organization_id": team["organization_id"],
            "workspace_id": team_id,
            "role": team_member["role"] if team_member else None,
        }
    )


routes = [
    Route("/v1/permissions", grant, methods=["POST"], name="grantPermission"),
    Route("/v1/permissions", list_grants, methods=["GET"], name="listPermissions"),
    Route("/v1/permissions/resolve/org", resolve_org, methods=["GET"], name="resolveOrgRole"),
    Route(
        "/v1/permissions/resolve/workspace", resolve_workspace, methods=["GET"], name="resolveWorkspaceRole"
    ),
    Route("/v1/permissions/{permission_id}", revoke, methods=["DELETE"], name="revokePermission"),
    Route(
        "/v1/organizations/{org_id}/permissions", org_permissions, methods=["GET"], name="getOrgPermissions"
    ),
]

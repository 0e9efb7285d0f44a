"""The calling principal (/v1/me/*) and authorization checks (/v1/authz/*).

Decisions come from the caller's role in the resource's organization (owner ⊇ admin ⊇
member ⊇ viewer, see ``_domain.auth.role_for_action``) and, for API keys, the key's scopes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain import auth as _auth
from .._domain.orgs import ROLE_RANK, membership, visible_org_ids
from .._domain.permissions import matching_grant
from .._infra.http import emulator_of, is_uuid, json_body, not_found, ok, strip
from ._guards import current_principal

if TYPE_CHECKING:
    from .._state import Emulator

# Resource type (as in "workflow:<id>") → the kind its documents are stored under.
RESOURCE_KINDS = {
    "organization": "organizations",
    "org": "organizations",
    "team": "teams",
    "workflow": "workflow_definitions",
    "run": "workflow_runs",
    "workflow_run": "workflow_runs",
    "job": "jobs",
    "api_key": "api_keys",
    "schedule": "schedules",
    "webhook": "webhooks",
    "gallery": "galleries",
    "asset": "assets",
    "invitation": "invitations",
}

# What /v1/me/permissions lists for each organization, per minimum role.
LISTED_ACTIONS = (
    "org.read",
    "workflow.read",
    "workflow.run",
    "workflow.edit",
    "job.read",
    "job.create",
    "member.read",
    "member.manage",
    "apikey.manage",
    "secret.manage",
    "webhook.manage",
    "org.admin",
    "org.delete",
)


class Check(BaseModel):
    model_config = ConfigDict(strict=True)
    action: str = Field(min_length=1)
    resource: Optional[str] = None
    organization_id: Optional[str] = None


class BatchEntry(BaseModel):
    model_config = ConfigDict(strict=True)
    action: str = Field(min_length=1)
    # Optional as in the single check: the public clients send bare actions (an org-wide check).
    resource: Optional[str] = None


class Batch(BaseModel):
    model_config = ConfigDict(strict=True)
    checks: List[BatchEntry] = Field(max_length=100)
    organization_id: Optional[str] = None


async def get_me(request: Request) -> Response:
    principal = current_principal(request, required=False)
    if principal is None:
        return ok({"principal_id": None, "authenticated": False, "email": None, "display_name": None})
    return ok(
        {
            "principal_id": principal.id,
            "authenticated": True,
            "email": principal.email,
            "display_name": principal.display_name,
            "kind": principal.kind,
            "via": principal.via,
        }
    )


async def my_organizations(request: Request) -> Response:
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    result = []
    for org_id in visible_org_ids(emulator, principal.id):
        org = emulator.store.get("organizations", org_id)
        member = membership(emulator, principal.id, org_id)
        if org and member:
            result.append({"id": org["id"], "slug": org["slug"], "name": org["name"], "role": member["role"]})
    return ok(result)


async def my_teams(request: Request) -> Response:
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    orgs = set(visible_org_ids(emulator, principal.id))
    result = []
    for m in emulator.store.find("memberships", where={"principal_id": principal.id, "active": True}):
        if m.get("team_id") and m["organization_id"] in orgs:
            team = emulator.store.get("teams", m["team_id"])
            if team is not None:
                result.append(
                    {
                        "id": team["id"],
                        "organization_id": team["organization_id"],
                        "slug": team["slug"],
                        "name": team["name"],
                        "role": m["role"],
                    }
                )
    return ok(result)


async def my_permissions(request: Request) -> Response:
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    entries = []
    for org_id in visible_org_ids(emulator, principal.id):
        member = membership(emulator, principal.id, org_id)
        if member is None:
            continue
        for action in LISTED_ACTIONS:
            allowed = ROLE_RANK[member["role"]] >= ROLE_RANK[
                _auth.role_for_action(action)
            ] and principal.allows(action)
            entries.append(
                {
                    "action": action,
                    "resource": f"organization:{org_id}",
                    "effect": "allow" if allowed else "deny",
                }
            )
    return ok(entries)


async def my_social_connections(request: Request) -> Response:
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    links = emulator.store.find("social_connections", where={"user_id": principal.id})
    return ok([strip(link, "id", "user_id") for link in links])


async def disconnect_social(request: Request) -> Response:
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    provider = request.path_params["provider"]
    links = emulator.store.find("social_connections", where={"user_id": principal.id, "provider": provider})
    if not links:
        raise not_found("social connection")
    for link in links:
        emulator.store.delete("social_connections", link["id"])
    return ok(None)


# --------------------------------------------------------------------------- authz
def decide(
    request: Request, action: str, resource: Optional[str], org_hint: Optional[str]
) -> Tuple[bool, str]:
    """(allowed, reason) for the caller doing ``action`` on ``resource``."""
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    org_ids: List[str]
    if resource and ":" in resource:
        rtype, _, rid = resource.partition(":")
        if rid not in ("all", "*", ""):
            kind = RESOURCE_KINDS.get(rtype)
            if kind is None or not is_uuid(rid):
                return False, f"unknown resource {resource!r}"
            doc = emulator.store.get(kind, rid)
            owner_org = rid if kind == "organizations" else (doc or {}).get("organization_id")
            if doc is None or owner_org is None:
                return False, f"{resource} not found"
            org_ids = [owner_org]
        else:
            org_ids = _context_orgs(emulator, principal, org_hint)
    else:
        org_ids = _context_orgs(emulator, principal, org_hint)
    if not principal.allows(action):
        return False, f"the API key lacks the scope {action!r}"
    for org_id in org_ids:
        explicit = matching_grant(emulator, org_id, principal.id, action, resource)
        if explicit == "deny":
            return False, f"an explicit grant denies {action} on {resource or 'this organization'}"
        if explicit == "allow" and membership(emulator, principal.id, org_id) is not None:
            return True, f"an explicit grant allows {action} on {resource or 'this organization'}"
    needed = _auth.role_for_action(action)
    best: Optional[str] = None
    for org_id in org_ids:
        member = membership(emulator, principal.id, org_id)
        if member is not None and (best is None or ROLE_RANK[member["role"]] > ROLE_RANK[best]):
            best = member["role"]
    if best is None:
        return False, "not a member of the resource's organization"
    if ROLE_RANK[best] >= ROLE_RANK[needed]:
        return True, f"role {best} grants {action} (needs {needed})"
    return False, f"{action} needs role {needed}; the caller is {best}"


def _context_orgs(emulator: Emulator, principal: _auth.Principal, org_hint: Optional[str]) -> List[str]:
    if org_hint and is_uuid(org_hint):
        return [org_hint]
    if principal.organization_id:
        return [principal.organization_id]
    return visible_org_ids(emulator, principal.id)


async def check(request: Request) -> Response:
    body = await json_body(request, Check)
    allowed, reason = decide(
        request,
        body.action,
        body.resource,
        body.organization_id or request.query_params.get("organization_id"),
    )
    return ok({"allowed": allowed, "reason": reason})


async def check_batch(request: Request) -> Response:
    body = await json_body(request, Batch)
    hint = body.organization_id or request.query_params.get("organization_id")
    results: List[Dict[str, Any]] = []
    for entry in body.checks:
        allowed, reason = decide(request, entry.action, entry.resource, hint)
        results.append(
            {"resource": entry.resource, "action": entry.action, "allowed": allowed, "reason": reason}
        )
    return ok(results)


routes = [
    Route("/v1/me", get_me, methods=["GET"], name="getMe"),
    Route("/v1/me/organizations", my_organizations, methods=["GET"], name="getMyOrganizations"),
    Route("/v1/me/teams", my_teams, methods=["GET"], name="getMyTeams"),
    Route("/v1/me/permissions", my_permissions, methods=["GET"], name="getMyPermissions"),
    Route("/v1/me/social-connections", my_social_connections, methods=["GET"], name="getMySocialConnections"),
    Route(
        "/v1/me/social-connections/{provider}", disconnect_social, methods=["DELETE"], name="disconnectSocial"
    ),
    Route("/v1/authz/check", check, methods=["POST"], name="checkPermission"),
    Route("/v1/authz/check-batch", check_batch, methods=["POST"], name="checkPermissions"),
]

"""Organizations, teams and members (wire contract "Organizations, …"); invitations are ``invitations.py``.

A principal sees an organization only through an active membership; everything else about
another organization answers 404, exactly like an id that does not exist.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Dict, Optional

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain.orgs import (
    add_member,
    check_slug,
    org_or_404,
    public_invitation,
    public_org,
    visible_org_ids,
)
from .._domain.settings import settings_for
from .._infra.clock import iso
from .._infra.http import ApiError, body_uuid, emulator_of, json_body, not_found, ok, path_uuid, strip
from ._guards import current_principal, require_org_action
from ._request import StrictBody


class CreateOrg(StrictBody):
    slug: str
    name: str = Field(min_length=1, max_length=200)


class UpdateOrg(StrictBody):
    slug: Optional[str] = None
    name: Optional[str] = Field(default=None, min_length=1, max_length=200)


class CreateTeam(StrictBody):
    organization_id: str
    slug: str
    name: str = Field(min_length=1, max_length=200)


# --------------------------------------------------------------------------- organizations
async def create_organization(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, CreateOrg)
    principal = current_principal(request)
    assert principal is not None
    if not principal.allows("org.create"):
        raise ApiError(403, "forbidden", "The API key lacks the scope 'org.create'.")
    slug = check_slug(body.slug)
    store = emulator.store
    now = emulator.clock.now_iso()
    org = {
        "id": str(uuid.uuid4()),
        "slug": slug,
        "name": body.name,
        "archived": False,
        "created_at": now,
        "updated_at": now,
    }
    with store.transaction():
        if store.find_one("organizations", where={"slug": slug}) is not None:
            raise ApiError(409, "conflict", f"The slug {slug!r} is taken.")
        store.insert("organizations", org)
        add_member(emulator, org["id"], principal.id, "owner", principal.email)
    return ok(public_org(org))


async def list_organizations(request: Request) -> Response:
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    orgs = [emulator.store.get("organizations", org_id) for org_id in visible_org_ids(emulator, principal.id)]
    return ok([public_org(o) for o in orgs if o is not None])


async def get_organization(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "org.read")
    return ok(public_org(org_or_404(emulator, org_id)))


async def update_organization(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "org.update")
    body = await json_body(request, UpdateOrg)
    changes: Dict[str, Any] = {}
    store = emulator.store
    with store.transaction():
        if body.slug is not None:
            slug = check_slug(body.slug)
            other = store.find_one("organizations", where={"slug": slug})
            if other is not None and other["id"] != org_id:
                raise ApiError(409, "conflict", f"The slug {slug!r} is taken.")
            changes["slug"] = slug
        if body.name is not None:
            changes["name"] = body.name
        changes["updated_at"] = emulator.clock.now_iso()
        org = store.update("organizations", org_id, **changes)
    assert org is not None
    return ok(public_org(org))


async def archive_organization(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "org.archive")
    org = emulator.store.update("organizations", org_id, archived=True, updated_at=emulator.clock.now_iso())
    assert org is not None
    return ok(public_org(org))


async def request_deletion(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "org.delete")
    now = emulator.clock.now()
    record = {
        "organization_id": org_id,
        "requested_at": iso(now),
        "scheduled_for": iso(now + timedelta(days=30)),
    }
    emulator.store.update("organizations", org_id, _deletion=record)
    return ok(record)


async def export_organization(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "org.admin")
    store = emulator.store
    return ok(
        {
            "organization": public_org(org_or_404(emulator, org_id)),
            "teams": [strip(t) for t in store.find("teams", org_id=org_id)],
            "members": [strip(m) for m in store.find("memberships", org_id=org_id)],
            "invitations": [public_invitation(emulator, i) for i in store.find("invitations", org_id=org_id)],
            "webhooks": [strip(w, "secret") for w in store.find("webhooks", org_id=org_id)],
            "settings": settings_for(emulator, org_id),
            "exported_at": emulator.clock.now_iso(),
        }
    )


async def list_members(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "member.read")
    members = emulator.store.find("memberships", org_id=org_id, where={"team_id": None})
    return ok([strip(m) for m in members])


# --------------------------------------------------------------------------- teams
def public_team(team: Dict[str, Any]) -> Dict[str, Any]:
    return strip(team)


async def create_team(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, CreateTeam)
    org_id = body_uuid(body.organization_id, "organization_id")
    member = require_org_action(request, org_id, "team.manage")
    slug = check_slug(body.slug)
    store = emulator.store
    team = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "slug": slug,
        "name": body.name,
        "archived": False,
        "created_at": emulator.clock.now_iso(),
    }
    with store.transaction():
        if store.find_one("teams", org_id=org_id, where={"slug": slug}) is not None:
            raise ApiError(409, "conflict", f"The team slug {slug!r} is taken in this organization.")
        store.insert("teams", team)
        # The creator belongs to the team they made, with their organization role.
        add_member(
            emulator, org_id, member["principal_id"], member["role"], member.get("email"), team_id=team["id"]
        )
    return ok(public_team(team))


async def get_team(request: Request) -> Response:
    emulator = emulator_of(request)
    team_id = path_uuid(request, "team_id", "team")
    team = emulator.store.get("teams", team_id)
    if team is None:
        raise not_found("team")
    require_org_action(request, team["organization_id"], "team.read")
    return ok(public_team(team))


async def list_teams(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "team.read")
    return ok([public_team(t) for t in emulator.store.find("teams", org_id=org_id)])


routes = [
    Route("/v1/organizations", create_organization, methods=["POST"], name="createOrganization"),
    Route("/v1/organizations", list_organizations, methods=["GET"], name="listOrganizations"),
    Route("/v1/organizations/{org_id}", get_organization, methods=["GET"], name="getOrganization"),
    Route("/v1/organizations/{org_id}", update_organization, methods=["PATCH"], name="updateOrganization"),
    Route(
        "/v1/organizations/{org_id}/archive",
        archive_organization,
        methods=["POST"],
        name="archiveOrganization",
    ),
    Route(
        "/v1/organizations/{org_id}/request-deletion",
        request_deletion,
        methods=["POST"],
        name="requestOrgDeletion",
    ),
    Route(
        "/v1/organizations/{org_id}/export", export_organization, methods=["GET"], name="exportOrganization"
    ),
    Route("/v1/organizations/{org_id}/members", list_members, methods=["GET"], name="listOrgMembers"),
    Route("/v1/organizations/{org_id}/teams", list_teams, methods=["GET"], name="listOrgTeams"),
    Route("/v1/teams", create_team, methods=["POST"], name="createTeam"),
    Route("/v1/teams/{team_id}", get_team, methods=["GET"], name="getTeam"),
]

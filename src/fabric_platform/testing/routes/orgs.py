"""Organizations, teams, members and invitations (wire contract "Organizations, …").

A principal sees an organization only through an active membership; everything else about
another organization answers 404, exactly like an id that does not exist.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any, Dict, List, Optional
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import _auth
from .._clock import iso
from .._http import (
    ROLE_RANK,
    ApiError,
    body_uuid,
    current_principal,
    emulator_of,
    json_body,
    membership,
    not_found,
    ok,
    org_or_404,
    path_uuid,
    require_org_action,
    strip,
)

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62})$")


class _Body(BaseModel):
    model_config = ConfigDict(strict=True)


class CreateOrg(_Body):
    slug: str
    name: str = Field(min_length=1, max_length=200)


class UpdateOrg(_Body):
    slug: Optional[str] = None
    name: Optional[str] = Field(default=None, min_length=1, max_length=200)


class CreateTeam(_Body):
    organization_id: str
    slug: str
    name: str = Field(min_length=1, max_length=200)


class CreateInvitation(_Body):
    organization_id: str
    email: str
    role: str = "member"
    team_id: Optional[str] = None


class AcceptInvitation(_Body):
    token: Optional[str] = None


def check_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise ApiError(
            400,
            "validation_error",
            "slug must be lowercase letters, digits and dashes (1-63 characters, not starting with a dash).",
            {"errors": [{"path": "slug", "message": "invalid slug"}]},
        )
    return slug


def check_role(role: str, field: str = "role") -> str:
    if role not in ROLE_RANK:
        raise ApiError(
            400,
            "validation_error",
            f"{field} must be one of owner, admin, member, viewer.",
            {"errors": [{"path": field, "message": "not a role"}]},
        )
    return role


def public_org(org: Dict[str, Any]) -> Dict[str, Any]:
    return strip(org, "deleted")


def add_member(
    emulator: Any,
    org_id: str,
    principal_id: str,
    role: str,
    email: Optional[str],
    team_id: Optional[str] = None,
) -> Dict[str, Any]:
    return emulator.store.insert(
        "memberships",
        {
            "id": str(uuid.uuid4()),
            "principal_id": principal_id,
            "organization_id": org_id,
            "team_id": team_id,
            "role": role,
            "email": email,
            "active": True,
            "created_at": emulator.clock.now_iso(),
        },
    )


def visible_org_ids(emulator: Any, principal_id: str) -> List[str]:
    """Organizations the principal belongs to (active org-level memberships)."""
    memberships = emulator.store.find(
        "memberships", where={"principal_id": principal_id, "team_id": None, "active": True}
    )
    ids = []
    for m in memberships:
        org = emulator.store.get("organizations", m["organization_id"])
        if org is not None and not org.get("deleted"):
            ids.append(m["organization_id"])
    return ids


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
    from .settings import settings_for

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


# --------------------------------------------------------------------------- invitations
def public_invitation(emulator: Any, invitation: Dict[str, Any]) -> Dict[str, Any]:
    doc = strip(invitation)
    if doc["status"] == "pending" and emulator.clock.is_past(doc["expires_at"]):
        doc["status"] = "expired"
    return doc


async def create_invitation(request: Request) -> Response:
    from .auth import normalize_email

    emulator = emulator_of(request)
    body = await json_body(request, CreateInvitation)
    org_id = body_uuid(body.organization_id, "organization_id")
    inviter = require_org_action(request, org_id, "invitation.manage")
    email = normalize_email(body.email)
    role = check_role(body.role)
    if ROLE_RANK[role] > ROLE_RANK[inviter["role"]]:
        raise ApiError(403, "forbidden", f"You cannot invite with a role above your own ({inviter['role']}).")
    team_id = None
    if body.team_id is not None:
        team_id = body_uuid(body.team_id, "team_id")
        team = emulator.store.get("teams", team_id)
        if team is None or team["organization_id"] != org_id:
            raise ApiError(400, "validation_error", "team_id is not a team of this organization.")
    existing = emulator.store.find_one(
        "memberships", org_id=org_id, where={"email": email, "team_id": None, "active": True}
    )
    if existing is not None:
        raise ApiError(409, "conflict", f"{email} is already a member of this organization.")
    token = _auth.new_secret("", 24)
    invitation = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "team_id": team_id,
        "email": email,
        "role": role,
        "status": "pending",
        "expires_at": emulator.clock.later_iso(emulator.config.invitation_ttl),
        "created_at": emulator.clock.now_iso(),
        "invited_by": inviter["principal_id"],
        "_token_hash": _auth.token_hash(token),
    }
    emulator.store.insert("invitations", invitation)
    link = f"{emulator.config.base_url}/v1/invitations/{invitation['id']}/accept?token={quote(token)}"
    emulator.outbox.send(
        "invitation", to=email, link=link, token=token, invitation_id=invitation["id"], organization_id=org_id
    )
    return ok(public_invitation(emulator, invitation))


async def list_invitations(request: Request) -> Response:
    emulator = emulator_of(request)
    org_id = path_uuid(request, "org_id", "organization")
    require_org_action(request, org_id, "invitation.manage")
    return ok([public_invitation(emulator, i) for i in emulator.store.find("invitations", org_id=org_id)])


async def accept_invitation(request: Request) -> Response:
    emulator = emulator_of(request)
    invitation_id = path_uuid(request, "invitation_id", "invitation")
    if request.method == "GET":
        token: Optional[str] = request.query_params.get("token")
        if not token:
            raise ApiError(400, "validation_error", "The token query parameter is required.")
    else:
        token = (await json_body(request, AcceptInvitation, optional=True)).token
    store = emulator.store
    invitation = store.get("invitations", invitation_id)
    if invitation is None:
        raise not_found("invitation")
    principal = current_principal(request, required=False)
    token_ok = token is not None and _auth.token_hash(token) == invitation["_token_hash"]
    if token is not None and not token_ok:
        raise ApiError(403, "forbidden", "The invitation token does not match.")
    if principal is not None:
        # Without the token, only the invitee (same email) may accept.
        if not token_ok and (principal.email or "").lower() != invitation["email"]:
            raise not_found("invitation")
        accepter_id, accepter_email = principal.id, principal.email or invitation["email"]
    else:
        if not token_ok:
            raise ApiError(401, "unauthorized", "Sign in, or pass the invitation token.")
        user = store.find_one("users", where={"email": invitation["email"]})
        if user is None:
            raise ApiError(401, "unauthorized", "Sign up with the invited email first, then accept.")
        accepter_id, accepter_email = user["id"], user["email"]
    status = public_invitation(emulator, invitation)["status"]
    if status != "pending":
        raise ApiError(409, "conflict", f"The invitation is {status}.")
    org_id = invitation["organization_id"]
    org_or_404(emulator, org_id)
    with store.transaction():
        if membership(emulator, accepter_id, org_id) is not None:
            raise ApiError(409, "conflict", "You are already a member of this organization.")
        member = add_member(emulator, org_id, accepter_id, invitation["role"], accepter_email)
        if invitation.get("team_id"):
            add_member(
                emulator,
                org_id,
                accepter_id,
                invitation["role"],
                accepter_email,
                team_id=invitation["team_id"],
            )
        store.update(
            "invitations",
            invitation_id,
            status="accepted",
            accepted_at=emulator.clock.now_iso(),
            accepted_by=accepter_id,
        )
    return ok(strip(member))


async def revoke_invitation(request: Request) -> Response:
    emulator = emulator_of(request)
    invitation_id = path_uuid(request, "invitation_id", "invitation")
    invitation = emulator.store.get("invitations", invitation_id)
    if invitation is None:
        raise not_found("invitation")
    require_org_action(request, invitation["organization_id"], "invitation.manage")
    status = public_invitation(emulator, invitation)["status"]
    if status not in ("pending", "expired"):
        raise ApiError(409, "conflict", f"The invitation is already {status}.")
    updated = emulator.store.update("invitations", invitation_id, status="revoked")
    assert updated is not None
    return ok(public_invitation(emulator, updated))


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
    Route(
        "/v1/organizations/{org_id}/invitations", list_invitations, methods=["GET"], name="listInvitations"
    ),
    Route("/v1/teams", create_team, methods=["POST"], name="createTeam"),
    Route("/v1/teams/{team_id}", get_team, methods=["GET"], name="getTeam"),
    Route("/v1/invitations", create_invitation, methods=["POST"], name="createInvitation"),
    Route(
        "/v1/invitations/{invitation_id}/accept", accept_invitation, methods=["POST"], name="acceptInvitation"
    ),
    Route(
        "/v1/invitations/{invitation_id}/accept",
        accept_invitation,
        methods=["GET"],
        name="acceptInvitationLink",
    ),
    Route(
        "/v1/invitations/{invitation_id}/revoke", revoke_invitation, methods=["POST"], name="revokeInvitation"
    ),
]

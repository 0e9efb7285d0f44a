"""Invitations to an organization (wire contract "Organizations, …"): create, list, accept, revoke.

An invitation is emailed (the outbox) with a one-time token; accepting it signed in, or with the
token, makes the invitee a member with the invited role.
"""

from __future__ import annotations

import uuid
from typing import Optional
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain import auth as _auth
from .._domain.accounts import normalize_email
from .._domain.orgs import (
    ROLE_RANK,
    add_member,
    check_role,
    membership,
    org_or_404,
    public_invitation,
)
from .._infra.http import ApiError, body_uuid, emulator_of, json_body, not_found, ok, path_uuid, strip
from ._guards import current_principal, require_org_action
from ._request import StrictBody


class CreateInvitation(StrictBody):
    organization_id: str
    email: str
    role: str = "member"
    team_id: Optional[str] = None


class AcceptInvitation(StrictBody):
    token: Optional[str] = None


async def create_invitation(request: Request) -> Response:
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
    Route(
        "/v1/organizations/{org_id}/invitations", list_invitations, methods=["GET"], name="listInvitations"
    ),
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

"""OAuth: registered clients (/v1/oauth/clients*), the token endpoint and revocation.

Token semantics are in ``_domain.oauth``. Registering or deleting a client needs ``apikey.manage``
(admin) in its organization, since its tokens act with the registering principal's powers.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Dict, Optional

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain import auth as _auth
from .._domain import oauth as _oauth
from .._domain.oauth import redirect_uris, string_list
from .._domain.orgs import ROLE_RANK, membership, visible_org_ids
from .._infra.http import ApiError, body_uuid, emulator_of, invalid_field, json_body, ok, path_uuid, strip
from ._guards import current_principal, default_org, org_doc, require_org_action
from ._request import name_field, opt_str

if TYPE_CHECKING:
    from .._state import Emulator

MANAGE = "apikey.manage"
GRANTS = ("client_credentials", "refresh_token", "token_exchange")


def public_client(doc: Dict[str, Any]) -> Dict[str, Any]:
    return strip(doc)


async def create_client(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request)
    given = body.get("organization_id")
    org_id = body_uuid(given, "organization_id") if given is not None else default_org(request)
    require_org_action(request, org_id, MANAGE)
    name = name_field(body.get("name"))
    principal = current_principal(request)
    assert principal is not None
    client_id, secret = _oauth.new_client_credentials("foc_")
    doc = {
        "id": str(uuid.uuid4()),
        "client_id": client_id,
        "organization_id": org_id,
        "name": name,
        "redirect_uris": redirect_uris(body.get("redirect_uris")),
        "scopes": sorted(set(string_list(body.get("scopes"), "scopes", limit=100))),
        "created_by": principal.id,
        "created_at": emulator.clock.now_iso(),
        "_secret_hash": _auth.token_hash(secret),
    }
    emulator.store.insert(_oauth.CLIENTS, doc)
    return ok(dict(public_client(doc), client_secret=secret))


async def list_clients(request: Request) -> Response:
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    result = []
    for org_id in visible_org_ids(emulator, principal.id):
        member = membership(emulator, principal.id, org_id)
        is_admin = member is not None and ROLE_RANK[member["role"]] >= ROLE_RANK["admin"]
        for doc in emulator.store.find(_oauth.CLIENTS, org_id=org_id):
            if is_admin or doc.get("created_by") == principal.id:
                result.append(public_client(doc))
    return ok(result)


async def delete_client(request: Request) -> Response:
    emulator = emulator_of(request)
    raw = request.path_params["client_id"]
    if not _is_uuid(raw):  # the public clients may name the client by its client_id
        found = emulator.store.find_one(_oauth.CLIENTS, where={"client_id": raw})
        raw = found["id"] if found is not None else raw
    client_id = (
        path_uuid(request, "client_id", "OAuth client") if raw == request.path_params["client_id"] else raw
    )
    doc = org_doc(request, _oauth.CLIENTS, client_id, MANAGE, "OAuth client")
    _oauth.revoke_client_tokens(emulator, dict(doc, _kind=_oauth.CLIENTS))
    emulator.store.delete(_oauth.CLIENTS, doc["id"])
    return ok(None)


def _opt_str(body: Dict[str, Any], key: str) -> Optional[str]:
    return opt_str(body, key, message="must be a string")


async def token(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request)
    grant = body.get("grant_type", "client_credentials")
    if grant not in GRANTS:
        raise invalid_field("grant_type", f"must be one of {', '.join(GRANTS)} (unsupported_grant_type)")
    client_id, client_secret = body.get("client_id"), body.get("client_secret")
    if grant == "refresh_token" and client_id is None and client_secret is None:
        # The public clients refresh with the token alone: it is bound to the client it was issued to.
        refresh_token = _opt_str(body, "refresh_token")
        if not refresh_token:
            raise invalid_field("refresh_token", "is required for grant_type=refresh_token")
        return ok(_oauth.refresh(emulator, None, refresh_token))
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise invalid_field("client_id", "and client_secret are required strings")
    scope = _opt_str(body, "scope")
    client = _oauth.authenticate_client(emulator, client_id, client_secret)
    if grant == "refresh_token":
        refresh_token = _opt_str(body, "refresh_token")
        if not refresh_token:
            raise invalid_field("refresh_token", "is required for grant_type=refresh_token")
        return ok(_oauth.refresh(emulator, client, refresh_token))
    if grant == "client_credentials":
        owner = emulator.store.get("users", client.get("created_by") or "")
        if owner is None or owner.get("disabled"):
            raise ApiError(401, "unauthorized", "The client's owner can no longer act (invalid_client).")
        scopes = _oauth.granted_scopes(client, scope)
        return ok(_oauth.issue(emulator, client, owner["id"], scopes, with_refresh=False))
    # token_exchange: the client acts as the user behind subject_token.
    subject = _opt_str(body, "subject_token")
    if not subject:
        raise invalid_field("subject_token", "is required for grant_type=token_exchange")
    subject_type = _opt_str(body, "subject_token_type")
    if subject_type not in (None, _oauth.TOKEN_TYPE_ACCESS, _oauth.TOKEN_TYPE_USER_ID):
        raise invalid_field(
            "subject_token_type", f"must be {_oauth.TOKEN_TYPE_ACCESS} or {_oauth.TOKEN_TYPE_USER_ID}"
        )
    if subject_type == _oauth.TOKEN_TYPE_USER_ID:
        return ok(_exchange_user_id(emulator, client, subject, scope))
    principal, error = _auth.resolve(emulator, {"authorization": f"Bearer {subject}"})
    if error is not None or principal is None or principal.kind != "user":
        raise ApiError(401, "unauthorized", "The subject_token is not a valid user token (invalid_grant).")
    ceiling = sorted(principal.scopes) if principal.scopes else None
    scopes = _oauth.granted_scopes(client, scope, ceiling)
    return ok(_oauth.issue(emulator, client, principal.id, scopes, with_refresh=True))


def _exchange_user_id(emulator: Emulator, client: Dict[str, Any], user_id: str, scope: Optional[str]) -> Any:
    """A token for a member of the client's organization, named by id (the client vouches)."""
    user = emulator.store.get("users", user_id) if _is_uuid(user_id) else None
    org_id = client.get("organization_id")
    member = membership(emulator, user_id, org_id) if user is not None and org_id else None
    if user is None or user.get("disabled") or member is None:
        raise ApiError(
            401,
            "unauthorized",
            "subject_token names no active member of the client's organization (invalid_grant).",
        )
    return _oauth.issue(emulator, client, user_id, _oauth.granted_scopes(client, scope), with_refresh=True)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def revoke(request: Request) -> Response:
    emulator = emulator_of(request)
    current_principal(request)
    body = await json_body(request)
    value = body.get("token")
    if not isinstance(value, str) or not value:
        raise invalid_field("token", "is required")
    hashed = _auth.token_hash(value)
    store = emulator.store
    record = store.get("access_tokens", hashed) or store.get(_oauth.REFRESH, hashed)
    if record is not None:
        _oauth.revoke_family(emulator, record["family_id"])
    # RFC 7009 §2.2: an unknown token is not an error (nothing to revoke).
    return ok(None)


routes = [
    Route("/v1/oauth/token", token, methods=["POST"], name="oauthToken"),
    Route("/v1/oauth/revoke", revoke, methods=["POST"], name="oauthRevokeToken"),
    Route("/v1/oauth/clients", create_client, methods=["POST"], name="createOAuthClient"),
    Route("/v1/oauth/clients", list_clients, methods=["GET"], name="listOAuthClients"),
    Route("/v1/oauth/clients/{client_id}", delete_client, methods=["DELETE"], name="deleteOAuthClient"),
]

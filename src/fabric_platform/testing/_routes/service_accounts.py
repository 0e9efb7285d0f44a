"""Service accounts and their API keys (/v1/service-accounts*).

A service account is a principal of one organization (its id is its principal id) with a
membership carrying its role, so its API keys act with that role. Disabling it makes every one
of its keys answer 401 until it is enabled again (``_domain.auth`` checks on each request). Managing
them needs the ``apikey.manage`` action (admin); reading them ``service_account.read``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Dict, List

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain.keys import new_key_doc, public_key, rotated_key
from .._domain.orgs import ROLE_RANK, add_member, check_role
from .._infra.http import (
    ApiError,
    body_uuid,
    emulator_of,
    invalid_field,
    json_body,
    not_found,
    ok,
    path_uuid,
    query_uuid,
    strip,
)
from ._guards import current_principal, default_org, org_doc, require_org_action
from ._request import name_field, opt_str

if TYPE_CHECKING:
    from .._state import Emulator

ACCOUNTS = "service_accounts"
MANAGE = "apikey.manage"
READ = "service_account.read"


def public_account(doc: Dict[str, Any]) -> Dict[str, Any]:
    out = strip(doc, "disabled")
    out["active"] = not doc.get("disabled")
    return out


def _scopes(value: Any) -> List[str]:
    if value is None:
        return []
    if (
        not isinstance(value, list)
        or len(value) > 100
        or not all(isinstance(s, str) and 0 < len(s) <= 100 for s in value)
    ):
        raise invalid_field("scopes", "must be an array of at most 100 scope strings (1-100 characters)")
    return sorted(set(value))


async def create_account(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request)
    given = body.get("organization_id")
    org_id = body_uuid(given, "organization_id") if given is not None else default_org(request)
    member = require_org_action(request, org_id, MANAGE)
    name = name_field(body.get("name"))
    description = opt_str(body, "description", message="must be a string")
    role = body.get("role", "member")
    if not isinstance(role, str):
        raise invalid_field("role", "must be one of owner, admin, member, viewer")
    check_role(role)
    if ROLE_RANK[role] > ROLE_RANK[member["role"]]:
        raise ApiError(
            403, "forbidden", f"You cannot create a service account above your own role ({member['role']})."
        )
    principal = current_principal(request)
    doc: Dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "name": name,
        "description": description,
        "role": role,
        "disabled": False,
        "created_by": principal.id if principal else None,
        "created_at": emulator.clock.now_iso(),
    }
    with emulator.store.transaction():
        emulator.store.insert(ACCOUNTS, doc)
        add_member(emulator, org_id, doc["id"], role, None)
    return ok(public_account(doc))


async def list_accounts(request: Request) -> Response:
    org_id = query_uuid(request, "organization_id") or default_org(request)
    require_org_action(request, org_id, READ)
    return ok([public_account(d) for d in emulator_of(request).store.find(ACCOUNTS, org_id=org_id)])


def _account_for(request: Request, action: str) -> Dict[str, Any]:
    account_id = path_uuid(request, "service_account_id", "service account")
    return org_doc(request, ACCOUNTS, account_id, action, "service account")


async def get_account(request: Request) -> Response:
    return ok(public_account(_account_for(request, READ)))


async def _set_disabled(request: Request, disabled: bool) -> Response:
    emulator = emulator_of(request)
    doc = _account_for(request, MANAGE)
    updated = emulator.store.update(
        ACCOUNTS, doc["id"], disabled=disabled, updated_at=emulator.clock.now_iso()
    )
    assert updated is not None
    return ok(public_account(updated))


async def disable_account(request: Request) -> Response:
    return await _set_disabled(request, True)


async def enable_account(request: Request) -> Response:
    return await _set_disabled(request, False)


# --------------------------------------------------------------------------- keys
async def create_account_key(request: Request) -> Response:
    emulator = emulator_of(request)
    account = _account_for(request, MANAGE)
    body = await json_body(request, optional=True)
    principal = current_principal(request)
    assert principal is not None
    # The public clients send {} or {description, scopes, expires_in_days}: the name defaults
    # to the description, then to the account's name.
    description = opt_str(body, "description", message="must be a string")
    days = body.get("expires_in_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650):
        raise invalid_field("expires_in_days", "must be an integer from 1 to 3650")
    name = body.get("name", description or f"{account['name']} key")
    scopes = _scopes(body.get("scopes"))
    # A scoped credential cannot mint a key with more power than itself.
    if principal.scopes is not None and (not scopes or any(not principal.allows(s) for s in scopes)):
        raise ApiError(403, "forbidden", "A scoped API key can only create keys within its own scopes.")
    created = new_key_doc(
        emulator,
        name=name_field(name),
        org_id=account["organization_id"],
        scopes=scopes,
        created_by=principal.id,
        service_account_id=account["id"],
        description=description,
        expires_at=emulator.clock.later_iso(days * 86400) if days else None,
    )
    return ok(created)


def _account_keys(emulator: Emulator, account: Dict[str, Any]) -> List[Dict[str, Any]]:
    return emulator.store.find(
        "api_keys", org_id=account["organization_id"], where={"service_account_id": account["id"]}
    )


async def list_account_keys(request: Request) -> Response:
    emulator = emulator_of(request)
    account = _account_for(request, READ)
    return ok([public_key(k) for k in _account_keys(emulator, account)])


def _key_for(request: Request) -> Dict[str, Any]:
    emulator = emulator_of(request)
    account = _account_for(request, MANAGE)
    key_id = path_uuid(request, "key_id", "API key")
    key = emulator.store.get("api_keys", key_id)
    if key is None or key.get("service_account_id") != account["id"]:
        raise not_found("API key")
    return key


async def revoke_account_key(request: Request) -> Response:
    key = _key_for(request)
    emulator_of(request).store.delete("api_keys", key["id"])
    return ok(None)


async def rotate_account_key(request: Request) -> Response:
    return ok(rotated_key(emulator_of(request), _key_for(request)))


routes = [
    Route("/v1/service-accounts", create_account, methods=["POST"], name="createServiceAccount"),
    Route("/v1/service-accounts", list_accounts, methods=["GET"], name="listServiceAccounts"),
    Route(
        "/v1/service-accounts/{service_account_id}", get_account, methods=["GET"], name="getServiceAccount"
    ),
    Route(
        "/v1/service-accounts/{service_account_id}/disable",
        disable_account,
        methods=["POST"],
        name="disableServiceAccount",
    ),
    Route(
        "/v1/service-accounts/{service_account_id}/enable",
        enable_account,
        methods=["POST"],
        name="enableServiceAccount",
    ),
    Route(
        "/v1/service-accounts/{service_account_id}/api-keys",
        create_account_key,
        methods=["POST"],
        name="createServiceAccountApiKey",
    ),
    Route(
        "/v1/service-accounts/{service_account_id}/api-keys",
        list_account_keys,
        methods=["GET"],
        name="listServiceAccountApiKeys",
    ),
    Route(
        "/v1/service-accounts/{service_account_id}/api-keys/{key_id}",
        revoke_account_key,
        methods=["DELETE"],
        name="revokeServiceAccountApiKey",
    ),
    Route(
        "/v1/service-accounts/{service_account_id}/api-keys/{key_id}/rotate",
        rotate_account_key,
        methods=["POST"],
        name="rotateServiceAccountApiKey",
    ),
]

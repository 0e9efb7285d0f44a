"""Platform administration (/v1/admin/*): users, lockouts, sessions and concurrency limits.

Platform administrators are users with ``is_admin``. There is none at first (the seeded owner
is an organization owner, not a platform admin): ``POST /v1/admin/bootstrap`` makes the first
one — a new account, or an existing one whose password is given — and answers 409 once any
administrator exists. Every other route needs an administrator (403 otherwise).

Concurrency limits are enforced through the engine's ``can_start`` hook: a run of an
organization at its ``max_concurrent_runs`` stays ``pending`` and starts when a slot frees up
(or the limit is raised). ``max_concurrent_jobs`` is stored and reported; jobs do not wait on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain import auth as _auth
from .._domain.accounts import (
    check_password,
    create_user,
    find_user_by_email,
    hash_new_password,
    normalize_email,
    password_matches,
)
from .._domain.limits import GLOBAL, LIMITS
from .._domain.orgs import org_or_404
from .._infra.http import (
    ApiError,
    body_uuid,
    emulator_of,
    invalid_field,
    json_body,
    not_found,
    ok,
    page_offset,
    path_uuid,
)
from ._guards import current_principal
from ._request import opt_str

if TYPE_CHECKING:
    from .._state import Emulator


def _last_login(emulator: Emulator, user_id: str) -> Optional[str]:
    # Sign-ins are the access tokens issued to the user directly (not to an OAuth client).
    times = [
        t["created_at"]
        for t in emulator.store.find("access_tokens", where={"user_id": user_id})
        if not t.get("oauth_client_id") and not t.get("app_id")
    ]
    return max(times) if times else None


def admin_user(emulator: Emulator, user: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": user["id"],
        "email": user["email"],
        "display_name": user.get("display_name"),
        "email_verified": bool(user.get("email_verified")),
        "locked": bool(user.get("locked")),
        "is_admin": bool(user.get("is_admin")),
        "disabled": bool(user.get("disabled")),
        "created_at": user["created_at"],
        "last_login_at": _last_login(emulator, user["id"]),
    }


def require_admin(request: Request) -> _auth.Principal:
    principal = current_principal(request)
    assert principal is not None
    if principal.kind != "user" or not (principal.user or {}).get("is_admin"):
        raise ApiError(
            403, "forbidden", "This needs a platform administrator (see POST /v1/admin/bootstrap)."
        )
    if not principal.allows("admin.manage"):
        raise ApiError(403, "forbidden", "The API key lacks the scope 'admin.manage'.")
    return principal


async def bootstrap(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, optional=True)
    email, password = body.get("email"), body.get("password")
    caller = current_principal(request, required=False)
    if email is None and password is None and caller is not None and caller.kind == "user":
        # The public clients send no body: the signed-in user becomes the first administrator.
        if emulator.store.find_one("users", where={"is_admin": True}) is not None:
            raise ApiError(409, "conflict", "A platform administrator already exists; bootstrap is closed.")
        promoted = emulator.store.update("users", caller.id, is_admin=True) or caller.user
        assert promoted is not None  # a user principal carries its user
        return ok(admin_user(emulator, promoted))
    if not isinstance(email, str):
        raise invalid_field("email", "is required (a string)")
    if not isinstance(password, str):
        raise invalid_field("password", "is required (a string)")
    display_name = opt_str(body, "display_name", message="must be a string")
    email = normalize_email(email)
    store = emulator.store
    if store.find_one("users", where={"is_admin": True}) is not None:
        raise ApiError(409, "conflict", "A platform administrator already exists; bootstrap is closed.")
    user = find_user_by_email(emulator, email)
    if user is None:
        check_password(password)
        user = create_user(
            emulator,
            email,
            await hash_new_password(emulator, password),
            display_name=display_name,
            email_verified=True,
        )
    elif not user.get("_password_hash") or not await password_matches(password, user["_password_hash"]):
        raise ApiError(401, "unauthorized", "Wrong password for the existing account with this email.")
    if store.find_one("users", where={"is_admin": True}) is not None:  # lost a race while hashing
        raise ApiError(409, "conflict", "A platform administrator already exists; bootstrap is closed.")
    user = store.update("users", user["id"], is_admin=True) or user
    return ok(admin_user(emulator, user))


async def list_users(request: Request) -> Response:
    require_admin(request)
    emulator = emulator_of(request)
    return page_offset([admin_user(emulator, u) for u in emulator.store.find("users")], request)


def _user_for(request: Request) -> Dict[str, Any]:
    require_admin(request)
    user = emulator_of(request).store.get("users", path_uuid(request, "user_id", "user"))
    if user is None:
        raise not_found("user")
    return user


async def get_user(request: Request) -> Response:
    return ok(admin_user(emulator_of(request), _user_for(request)))


async def delete_user(request: Request) -> Response:
    emulator = emulator_of(request)
    user = _user_for(request)
    principal = current_principal(request)
    if principal is not None and principal.id == user["id"]:
        raise ApiError(409, "conflict", "Administrators cannot delete their own account.")
    store = emulator.store
    _auth.revoke_user_sessions(emulator, user["id"])
    with store.transaction():
        for member in store.find("memberships", where={"principal_id": user["id"], "active": True}):
            store.update("memberships", member["id"], active=False)
        for key in store.find("api_keys", where={"created_by": user["id"], "service_account_id": None}):
            store.update("api_keys", key["id"], active=False)
        store.delete("users", user["id"])
    return ok(None)


async def unlock_user(request: Request) -> Response:
    emulator = emulator_of(request)
    user = _user_for(request)
    updated = emulator.store.update("users", user["id"], locked=False, _failed_logins=0)
    return ok(admin_user(emulator, updated or user))


async def verify_user(request: Request) -> Response:
    emulator = emulator_of(request)
    user = _user_for(request)
    updated = emulator.store.update("users", user["id"], email_verified=True)
    return ok(admin_user(emulator, updated or user))


async def force_logout(request: Request) -> Response:
    emulator = emulator_of(request)
    user = _user_for(request)
    _auth.revoke_user_sessions(emulator, user["id"])
    return ok(None)


def public_limit(doc: Dict[str, Any]) -> Dict[str, Any]:
    out = {
        k: doc.get(k) for k in ("organization_id", "max_concurrent_runs", "max_concurrent_jobs", "updated_at")
    }
    # The public clients name a limit by its scope: an organization id or "global".
    out["scope"] = doc.get("organization_id") or GLOBAL
    return out


async def list_limits(request: Request) -> Response:
    require_admin(request)
    return ok([public_limit(d) for d in emulator_of(request).store.find(LIMITS)])


def _limit_value(body: Dict[str, Any], key: str, current: Optional[int]) -> Optional[int]:
    if key not in body:
        return current
    value = body[key]
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise invalid_field(key, "must be a non-negative integer or null")
    return value


async def set_limit(request: Request) -> Response:
    require_admin(request)
    emulator = emulator_of(request)
    body = await json_body(request)
    scope = body.get("scope")
    if "organization_id" not in body and scope == GLOBAL:
        org_id: Optional[str] = None
    elif "organization_id" not in body and scope is not None:
        org_id = body_uuid(scope, "scope")
    else:
        org_id = body_uuid(body.get("organization_id"), "organization_id")
    if org_id is not None:
        org_or_404(emulator, org_id)
    current = emulator.store.get(LIMITS, org_id or GLOBAL) or {}
    doc = {
        "id": org_id or GLOBAL,
        "organization_id": org_id,
        "max_concurrent_runs": _limit_value(body, "max_concurrent_runs", current.get("max_concurrent_runs")),
        "max_concurrent_jobs": _limit_value(body, "max_concurrent_jobs", current.get("max_concurrent_jobs")),
        "updated_at": emulator.clock.now_iso(),
    }
    emulator.store.put(LIMITS, doc)
    emulator.engine._pump()  # a raised limit lets waiting runs start now
    return ok(public_limit(doc))


routes = [
    Route("/v1/admin/bootstrap", bootstrap, methods=["POST"], name="adminBootstrap"),
    Route("/v1/admin/users", list_users, methods=["GET"], name="adminListUsers"),
    Route("/v1/admin/users/{user_id}", get_user, methods=["GET"], name="adminGetUser"),
    Route("/v1/admin/users/{user_id}", delete_user, methods=["DELETE"], name="adminDeleteUser"),
    Route("/v1/admin/users/{user_id}/unlock", unlock_user, methods=["POST"], name="adminUnlockUser"),
    Route("/v1/admin/users/{user_id}/verify", verify_user, methods=["POST"], name="adminVerifyUser"),
    Route(
        "/v1/admin/users/{user_id}/logout-all", force_logout, methods=["POST"], name="adminForceLogoutUser"
    ),
    Route("/v1/admin/concurrency-limits", list_limits, methods=["GET"], name="adminListConcurrencyLimits"),
    Route("/v1/admin/concurrency-limits", set_limit, methods=["PUT"], name="adminSetConcurrencyLimit"),
]

"""Sign-up, sign-in and sessions: /v1/auth/* (wire contract "Auth").

The account rules and emailed tokens they use are in ``_domain.accounts``.
"""

from __future__ import annotations

import uuid
from typing import Optional

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain import auth as _auth
from .._domain.accounts import (
    check_password,
    consume_email_token,
    create_user,
    find_user_by_email,
    hash_new_password,
    normalize_email,
    password_matches,
    send_email_token,
)
from .._infra.http import ApiError, emulator_of, json_body, ok
from ._guards import current_principal, user_principal
from ._request import StrictBody

MAX_FAILED_LOGINS = 10


class Credentials(StrictBody):
    email: str
    password: str


class EmailOnly(StrictBody):
    email: str


class SocialLogin(StrictBody):
    provider: str = Field(min_length=1, max_length=64)
    provider_user_id: str = Field(min_length=1, max_length=256)
    email: str
    display_name: Optional[str] = None
    avatar_url: Optional[str] = None


class RefreshBody(StrictBody):
    refresh_token: str


class LogoutBody(StrictBody):
    access_token: Optional[str] = None


class ResetBody(StrictBody):
    access_token: str
    new_password: str


class ChangeBody(StrictBody):
    current_password: str
    new_password: str


class TokenBody(StrictBody):
    token: str


# --------------------------------------------------------------------------- handlers
async def signup(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, Credentials)
    email = normalize_email(body.email)
    check_password(body.password)
    if find_user_by_email(emulator, email) is not None:
        raise ApiError(409, "conflict", "An account with this email already exists.")
    password_hash = await hash_new_password(emulator, body.password)
    if find_user_by_email(emulator, email) is not None:  # lost a race while hashing
        raise ApiError(409, "conflict", "An account with this email already exists.")
    user = create_user(emulator, email, password_hash)
    send_email_token(emulator, "verification", user, emulator.config.email_token_ttl, "/v1/auth/verify")
    return ok(_auth.issue_tokens(emulator, user))


async def login(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, Credentials)
    email = body.email.strip().lower()
    user = find_user_by_email(emulator, email)
    if user is not None and user.get("locked"):
        raise ApiError(403, "forbidden", "The account is locked after too many failed sign-ins.")
    stored = (user or {}).get("_password_hash")
    if user is None or not stored or not await password_matches(body.password, stored):
        if user is not None:
            failures = int(user.get("_failed_logins", 0)) + 1
            emulator.store.update(
                "users", user["id"], _failed_logins=failures, locked=failures >= MAX_FAILED_LOGINS
            )
        raise ApiError(401, "unauthorized", "Invalid email or password.")
    if user.get("disabled"):
        raise ApiError(401, "unauthorized", "This account is disabled.")
    if user.get("_failed_logins"):
        user = emulator.store.update("users", user["id"], _failed_logins=0) or user
    return ok(_auth.issue_tokens(emulator, user))


async def magic_link(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, EmailOnly)
    email = normalize_email(body.email)
    user = find_user_by_email(emulator, email)
    if user is None:
        # Passwordless sign-in creates the account on first use, as magic links usually do.
        user = create_user(emulator, email, None)
    send_email_token(emulator, "magic_link", user, 15 * 60, "/_emulator/auth/magic-link")
    return ok(None, status=202)


async def consume_magic_link(request: Request) -> Response:
    """GET /_emulator/auth/magic-link?token= — what clicking the emailed link does: sign in.

    The public contract has no endpoint for this step (the real service handles it in its web
    app), so the emulator offers it under /_emulator.
    """
    emulator = emulator_of(request)
    token = request.query_params.get("token") or ""
    user = consume_email_token(emulator, token, "magic_link")
    user = emulator.store.update("users", user["id"], email_verified=True) or user
    return ok(_auth.issue_tokens(emulator, user))


async def social_login(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, SocialLogin)
    email = normalize_email(body.email)
    store = emulator.store
    link = store.find_one(
        "social_connections", where={"provider": body.provider, "provider_user_id": body.provider_user_id}
    )
    user = store.get("users", link["user_id"]) if link else None
    if user is None:
        user = find_user_by_email(emulator, email) or create_user(
            emulator, email, None, display_name=body.display_name, avatar_url=body.avatar_url
        )
        store.insert(
            "social_connections",
            {
                "id": str(uuid.uuid4()),
                "user_id": user["id"],
                "provider": body.provider,
                "provider_user_id": body.provider_user_id,
                "email": email,
                "connected_at": emulator.clock.now_iso(),
            },
        )
    if user.get("disabled"):
        raise ApiError(401, "unauthorized", "This account is disabled.")
    # The provider vouches for the address.
    if not user.get("email_verified"):
        user = store.update("users", user["id"], email_verified=True) or user
    return ok(_auth.issue_tokens(emulator, user))


async def refresh(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, RefreshBody)
    return ok(_auth.refresh_tokens(emulator, body.refresh_token))


async def logout(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, LogoutBody, optional=True)
    if body.access_token:
        record = emulator.store.get("access_tokens", _auth.token_hash(body.access_token))
        if record is not None:
            _auth.revoke_family(emulator, record["family_id"])
        return ok(None)
    principal = current_principal(request)
    assert principal is not None
    if principal.family_id:
        _auth.revoke_family(emulator, principal.family_id)
    return ok(None)


async def logout_all(request: Request) -> Response:
    emulator = emulator_of(request)
    await json_body(request, optional=True)
    principal = user_principal(request)
    _auth.revoke_user_sessions(emulator, principal.id)
    return ok(None)


async def forgot_password(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, EmailOnly)
    email = normalize_email(body.email)
    user = find_user_by_email(emulator, email)
    # Same answer whether or not the account exists: the endpoint must not reveal accounts.
    if user is not None:
        send_email_token(
            emulator, "password_recovery", user, emulator.config.recovery_token_ttl, "/v1/auth/reset-password"
        )
    return ok(None, status=202)


async def reset_password(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, ResetBody)
    check_password(body.new_password, "new_password")
    user = consume_email_token(emulator, body.access_token, "password_recovery")
    password_hash = await hash_new_password(emulator, body.new_password)
    emulator.store.update("users", user["id"], _password_hash=password_hash, locked=False, _failed_logins=0)
    _auth.revoke_user_sessions(emulator, user["id"])
    return ok(None)


async def change_password(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, ChangeBody)
    principal = user_principal(request)
    check_password(body.new_password, "new_password")
    user = emulator.store.get("users", principal.id) or {}
    stored = user.get("_password_hash")
    if not stored or not await password_matches(body.current_password, stored):
        raise ApiError(
            400,
            "validation_error",
            "current_password is wrong.",
            {"errors": [{"path": "current_password", "message": "does not match"}]},
        )
    emulator.store.update(
        "users", principal.id, _password_hash=await hash_new_password(emulator, body.new_password)
    )
    return ok(None)


async def resend_verification(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, EmailOnly)
    email = normalize_email(body.email)
    user = find_user_by_email(emulator, email)
    if user is not None and not user.get("email_verified"):
        send_email_token(emulator, "verification", user, emulator.config.email_token_ttl, "/v1/auth/verify")
    return ok(None)


async def verify_email(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, TokenBody)
    user = consume_email_token(emulator, body.token, "verification")
    emulator.store.update("users", user["id"], email_verified=True)
    return ok(None)


routes = [
    Route("/v1/auth/signup", signup, methods=["POST"], name="signup"),
    Route("/v1/auth/login", login, methods=["POST"], name="login"),
    Route("/v1/auth/magic-link", magic_link, methods=["POST"], name="magicLink"),
    Route("/v1/auth/social-login", social_login, methods=["POST"], name="socialLogin"),
    Route("/v1/auth/token/refresh", refresh, methods=["POST"], name="refreshToken"),
    Route("/v1/auth/logout", logout, methods=["POST"], name="logout"),
    Route("/v1/auth/logout-all", logout_all, methods=["POST"], name="logoutAll"),
    Route("/v1/auth/forgot-password", forgot_password, methods=["POST"], name="forgotPassword"),
    Route("/v1/auth/reset-password", reset_password, methods=["POST"], name="resetPassword"),
    Route("/v1/auth/change-password", change_password, methods=["POST"], name="changePassword"),
    Route("/v1/auth/resend-verification", resend_verification, methods=["POST"], name="resendVerification"),
    Route("/v1/auth/verify", verify_email, methods=["POST"], name="verifyEmail"),
    Route("/_emulator/auth/magic-link", consume_magic_link, methods=["GET"]),
]

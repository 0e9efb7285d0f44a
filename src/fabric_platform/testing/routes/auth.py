"""Sign-up, sign-in and sessions: /v1/auth/* (wire contract "Auth").

Emailed tokens (verification, magic link, password recovery) are stored hashed in
``email_tokens`` with a purpose, an expiry on the emulator clock and a used flag; the plain
token only exists in the outbox message, like a real email.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any, Dict, Optional
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import _auth
from .._http import ApiError, current_principal, emulator_of, json_body, ok, user_principal

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
MAX_FAILED_LOGINS = 10


class _Body(BaseModel):
    # Strict: "42" is not an int and 42 is not a string. Unknown fields are ignored, as the
    # spec allows additional properties.
    model_config = ConfigDict(strict=True)


class Credentials(_Body):
    email: str
    password: str


class EmailOnly(_Body):
    email: str


class SocialLogin(_Body):
    provider: str = Field(min_length=1, max_length=64)
    provider_user_id: str = Field(min_length=1, max_length=256)
    email: str
    display_name: Optional[str] = None
    avatar_url: Optional[str] = None


class RefreshBody(_Body):
    refresh_token: str


class LogoutBody(_Body):
    access_token: Optional[str] = None


class ResetBody(_Body):
    access_token: str
    new_password: str


class ChangeBody(_Body):
    current_password: str
    new_password: str


class TokenBody(_Body):
    token: str


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ApiError(
            400,
            "validation_error",
            "email is not a valid address.",
            {"errors": [{"path": "email", "message": "not an email address"}]},
        )
    return email


def check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD or len(password) > 1024:
        raise ApiError(
            400,
            "validation_error",
            f"{field} must be {MIN_PASSWORD} to 1024 characters long.",
            {"errors": [{"path": field, "message": f"must be at least {MIN_PASSWORD} characters"}]},
        )


async def _hash(emulator: Any, password: str) -> str:
    # The KDF is slow on purpose; keep it off the event loop so other requests go on.
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        None, _auth.hash_password, password, emulator.config.password_hash_iterations
    )


async def _verify(password: str, stored: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _auth.verify_password, password, stored)


def find_user_by_email(emulator: Any, email: str) -> Optional[Dict[str, Any]]:
    return emulator.store.find_one("users", where={"email": email})


def send_email_token(emulator: Any, purpose: str, user: Dict[str, Any], ttl: float, link_path: str) -> str:
    token = _auth.new_secret("", 24)
    emulator.store.insert(
        "email_tokens",
        {
            "id": _auth.token_hash(token),
            "purpose": purpose,
            "user_id": user["id"],
            "email": user["email"],
            "expires_at": emulator.clock.later_iso(ttl),
            "used": False,
            "created_at": emulator.clock.now_iso(),
        },
    )
    link = f"{emulator.config.base_url}{link_path}?token={quote(token)}"
    emulator.outbox.send(purpose, to=user["email"], link=link, token=token, user_id=user["id"])
    return token


def consume_email_token(emulator: Any, token: str, purpose: str) -> Dict[str, Any]:
    """The user a valid, unused, unexpired token of ``purpose`` belongs to (marks it used)."""
    record = emulator.store.get("email_tokens", _auth.token_hash(token))
    if record is None or record["purpose"] != purpose or record.get("used"):
        raise ApiError(400, "invalid_request", "The token is not valid (unknown or already used).")
    if emulator.clock.is_past(record["expires_at"]):
        raise ApiError(400, "invalid_request", "The token has expired; request a new one.")
    user = emulator.store.get("users", record["user_id"])
    if user is None:
        raise ApiError(400, "invalid_request", "The token is not valid.")
    emulator.store.update("email_tokens", record["id"], used=True)
    return user


def create_user(emulator: Any, email: str, password_hash: Optional[str], **fields: Any) -> Dict[str, Any]:
    user = {
        "id": str(uuid.uuid4()),
        "email": email,
        "display_name": fields.pop("display_name", None),
        "email_verified": False,
        "created_at": emulator.clock.now_iso(),
        "_password_hash": password_hash,
        **fields,
    }
    return emulator.store.insert("users", user)


# --------------------------------------------------------------------------- handlers
async def signup(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, Credentials)
    email = normalize_email(body.email)
    check_password(body.password)
    if find_user_by_email(emulator, email) is not None:
        raise ApiError(409, "conflict", "An account with this email already exists.")
    password_hash = await _hash(emulator, body.password)
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
    if user is None or not stored or not await _verify(body.password, stored):
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
    password_hash = await _hash(emulator, body.new_password)
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
    if not stored or not await _verify(body.current_password, stored):
        raise ApiError(
            400,
            "validation_error",
            "current_password is wrong.",
            {"errors": [{"path": "current_password", "message": "does not match"}]},
        )
    emulator.store.update("users", principal.id, _password_hash=await _hash(emulator, body.new_password))
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

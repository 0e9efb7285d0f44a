"""TOTP second factor for the signed-in user (/v1/auth/totp*), per RFC 6238 (``_domain.totp``).

* ``enroll`` starts an enrollment: a new secret (in the ``otpauth://`` URI) and ten single-use
  recovery codes (stored hashed). It is pending until the first code verifies.
* ``verify`` checks a code against the emulator clock (± one 30 s step for skew); the first
  success completes enrollment. A code's time step is never accepted twice (replay).
* ``recovery`` spends a recovery code; ``DELETE`` turns TOTP off.

Wrong codes are an answer (``valid: false``), not an error; calling verify or recovery with no
enrollment is 409.
"""

from __future__ import annotations

import secrets
from typing import Any, Dict

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._domain import auth as _auth
from .._domain import totp as _totp
from .._infra.http import ApiError, emulator_of, json_body, ok
from ._guards import user_principal

RECOVERY_CODES = 10


class CodeBody(BaseModel):
    model_config = ConfigDict(strict=True)
    code: str


def _user(request: Request) -> Dict[str, Any]:
    principal = user_principal(request)
    return emulator_of(request).store.get("users", principal.id) or {}


def _recovery_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


async def enroll(request: Request) -> Response:
    emulator = emulator_of(request)
    await json_body(request, optional=True)
    user = _user(request)
    if user.get("totp_enrolled"):
        raise ApiError(409, "conflict", "TOTP is already enabled; disable it before enrolling again.")
    secret = _totp.new_secret()
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    emulator.store.update(
        "users",
        user["id"],
        totp_enrolled=False,
        _totp_pending_secret=secret,
        _totp_secret=None,
        _totp_last_step=-1,
        _totp_recovery=[_auth.token_hash(c) for c in codes],
    )
    return ok(
        {
            "otpauth_uri": _totp.otpauth_uri(secret, user.get("email") or user["id"]),
            "recovery_codes": codes,
            "secret": secret,
        }
    )


async def verify(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, CodeBody)
    user = _user(request)
    enrolled = bool(user.get("totp_enrolled"))
    secret = user.get("_totp_secret") if enrolled else user.get("_totp_pending_secret")
    if not secret:
        raise ApiError(409, "conflict", "TOTP is not enrolled: call POST /v1/auth/totp/enroll first.")
    step = _totp.match_step(_totp.decode_secret(secret), body.code, emulator.clock.now().timestamp())
    if step is None:
        return ok({"enrolled": enrolled, "valid": False, "message": "The code is not valid."})
    if step <= int(user.get("_totp_last_step", -1)):
        return ok({"enrolled": enrolled, "valid": False, "message": "This code was already used."})
    changes: Dict[str, Any] = {"_totp_last_step": step}
    message = "Code accepted."
    if not enrolled:
        changes.update(totp_enrolled=True, _totp_secret=secret, _totp_pending_secret=None)
        message = "TOTP enrollment completed."
    emulator.store.update("users", user["id"], **changes)
    return ok({"enrolled": True, "valid": True, "message": message})


async def recovery(request: Request) -> Response:
    emulator = emulator_of(request)
    body = await json_body(request, CodeBody)
    user = _user(request)
    if not user.get("totp_enrolled"):
        raise ApiError(409, "conflict", "TOTP is not enabled for this account.")
    remaining = list(user.get("_totp_recovery") or [])
    hashed = _auth.token_hash(body.code.strip().lower())
    if hashed not in remaining:
        return ok({"valid": False, "message": "The recovery code is not valid (or was already used)."})
    remaining.remove(hashed)
    emulator.store.update("users", user["id"], _totp_recovery=remaining)
    return ok({"valid": True, "message": f"Recovery code accepted; {len(remaining)} left."})


async def disable(request: Request) -> Response:
    emulator = emulator_of(request)
    user = _user(request)
    emulator.store.update(
        "users",
        user["id"],
        totp_enrolled=False,
        _totp_secret=None,
        _totp_pending_secret=None,
        _totp_recovery=[],
        _totp_last_step=-1,
    )
    return ok(None)


routes = [
    Route("/v1/auth/totp/enroll", enroll, methods=["POST"], name="totpEnroll"),
    Route("/v1/auth/totp/verify", verify, methods=["POST"], name="totpVerify"),
    Route("/v1/auth/totp/recovery", recovery, methods=["POST"], name="totpRecovery"),
    Route("/v1/auth/totp", disable, methods=["DELETE"], name="totpDisable"),
]

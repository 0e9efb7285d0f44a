"""User accounts: email and password rules, users by email, and emailed one-time tokens.

Emailed tokens (verification, magic link, password recovery) are stored hashed in
``email_tokens`` with a purpose, an expiry on the emulator clock and a used flag; the plain
token only exists in the outbox message, like a real email.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import TYPE_CHECKING, Any, Dict, Optional
from urllib.parse import quote

from .._infra.http import ApiError
from . import auth as _auth

if TYPE_CHECKING:
    from .._state import Emulator

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


MIN_PASSWORD = 8


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


async def hash_new_password(emulator: Emulator, password: str) -> str:
    # The KDF is slow on purpose; keep it off the event loop so other requests go on.
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        None, _auth.hash_password, password, emulator.config.password_hash_iterations
    )


async def password_matches(password: str, stored: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _auth.verify_password, password, stored)


def find_user_by_email(emulator: Emulator, email: str) -> Optional[Dict[str, Any]]:
    return emulator.store.find_one("users", where={"email": email})


def send_email_token(
    emulator: Emulator, purpose: str, user: Dict[str, Any], ttl: float, link_path: str
) -> str:
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


def consume_email_token(emulator: Emulator, token: str, purpose: str) -> Dict[str, Any]:
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


def create_user(
    emulator: Emulator, email: str, password_hash: Optional[str], **fields: Any
) -> Dict[str, Any]:
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

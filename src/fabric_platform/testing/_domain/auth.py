"""Credentials: password hashing, access/refresh tokens, API keys, principal resolution.

* Passwords: PBKDF2-HMAC-SHA256 with a per-password salt. The iteration count is a setting
  (realistic by default, tiny in tests: the cost is the point in production, not here).
* Access tokens: opaque random strings stored as SHA-256 hashes with an expiry on the
  emulator clock, so ``advance_time`` expires them (401 ``token_expired``).
* Refresh tokens: single use. Each refresh marks the old one used and issues a new pair in
  the same *family*; presenting a used refresh token again means it leaked, so the whole
  family (every access and refresh token descended from that login) is revoked.
* API keys: ``fab_live_…`` / ``fab_test_…``, stored as SHA-256 hashes (they are long random
  strings, so a fast hash is enough), shown once. A key acts as the user who created it,
  narrowed to its scopes; disabled, rotated-out and deleted keys fail at once because every
  request looks the hash up again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Mapping, Optional, Tuple

from .._infra.clock import iso, parse_iso
from .._infra.http import ApiError, is_uuid

if TYPE_CHECKING:
    from .._state import Emulator

API_KEY_PREFIXES = ("fab_live_", "fab_test_")
ACCESS_PREFIX = "fat_"
REFRESH_PREFIX = "frt_"

# Minimum organization role per action; unknown actions need `member` (reads: `viewer`).
_ACTION_ROLES = {
    "org.admin": "admin",
    "org.update": "admin",
    "org.archive": "owner",
    "org.delete": "owner",
    "member.manage": "admin",
    "team.manage": "admin",
    "invitation.manage": "admin",
    "apikey.manage": "admin",
    "secret.manage": "admin",
    "webhook.manage": "admin",
    "budget.manage": "admin",
    "settings.manage": "admin",
    "audit.read": "admin",
}


# What an archived organization still allows besides reads.
ARCHIVED_ORG_ACTIONS = frozenset({"org.update", "org.archive", "org.delete", "org.admin"})


def is_read_action(action: str) -> bool:
    return action.endswith((".read", ".view", ".list"))


def role_for_action(action: str) -> str:
    if action in _ACTION_ROLES:
        return _ACTION_ROLES[action]
    if is_read_action(action):
        return "viewer"
    return "member"


@dataclass
class Principal:
    """Who is calling. ``id`` is the user / service account id memberships refer to."""

    id: str
    kind: str  # "user" | "service_account" | "external"
    via: str  # "access_token" | "api_key" | "principal_header"
    user: Optional[Dict[str, Any]] = None
    scopes: Optional[FrozenSet[str]] = None  # None: not narrowed
    api_key_id: Optional[str] = None
    organization_id: Optional[str] = None  # the API key's organization
    access_token_id: Optional[str] = None
    family_id: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def email(self) -> Optional[str]:
        return self.user.get("email") if self.user else None

    @property
    def display_name(self) -> Optional[str]:
        return self.user.get("display_name") if self.user else None

    def allows(self, action: str) -> bool:
        """Whether the credential's scopes cover ``action`` (reads follow any scope of the area)."""
        if not self.scopes:
            return True
        if action in self.scopes or "*" in self.scopes:
            return True
        area = action.split(".", 1)[0]
        if f"{area}.*" in self.scopes:
            return True
        if action.endswith(".read"):
            return any(scope.split(".", 1)[0] == area for scope in self.scopes)
        return False


# --------------------------------------------------------------------------- hashing
def hash_password(password: str, iterations: int) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algorithm, iterations, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if algorithm != "pbkdf2_sha256":
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt_hex), int(iterations))
    return hmac.compare_digest(digest.hex(), digest_hex)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_secret(prefix: str = "", nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


# --------------------------------------------------------------------------- sessions
def issue_tokens(emulator: Emulator, user: Dict[str, Any], family_id: Optional[str] = None) -> Dict[str, Any]:
    """A new access/refresh pair for ``user`` (a new family unless refreshing); AuthTokens."""
    store, clock, config = emulator.store, emulator.clock, emulator.config
    family_id = family_id or str(uuid.uuid4())
    access = new_secret(ACCESS_PREFIX)
    refresh = new_secret(REFRESH_PREFIX)
    now = clock.now()
    with store.transaction():
        store.insert(
            "access_tokens",
            {
                "id": token_hash(access),
                "user_id": user["id"],
                "family_id": family_id,
                "expires_at": iso(now + timedelta(seconds=config.access_token_ttl)),
                "revoked": False,
                "created_at": iso(now),
            },
        )
        store.insert(
            "refresh_tokens",
            {
                "id": token_hash(refresh),
                "user_id": user["id"],
                "family_id": family_id,
                "expires_at": iso(now + timedelta(seconds=config.refresh_token_ttl)),
                "used": False,
                "revoked": False,
                "created_at": iso(now),
            },
        )
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": int(config.access_token_ttl),
        "user": public_user(user),
    }


def public_user(user: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": user["id"],
        "email": user["email"],
        "display_name": user.get("display_name"),
        "email_verified": bool(user.get("email_verified")),
    }


def refresh_tokens(emulator: Emulator, refresh_token: str) -> Dict[str, Any]:

    store = emulator.store
    record = store.get("refresh_tokens", token_hash(refresh_token))
    if record is None or record.get("revoked"):
        raise ApiError(401, "unauthorized", "The refresh token is not valid.")
    if record.get("used"):
        # A rotated token came back: someone else holds the family. Cut it off entirely.
        revoke_family(emulator, record["family_id"])
        raise ApiError(
            401, "unauthorized", "The refresh token was already used; the session has been revoked."
        )
    if emulator.clock.is_past(record["expires_at"]):
        raise ApiError(401, "token_expired", "The refresh token has expired.")
    user = store.get("users", record["user_id"])
    if user is None or user.get("disabled"):
        raise ApiError(401, "unauthorized", "The refresh token is not valid.")
    store.update("refresh_tokens", record["id"], used=True, used_at=emulator.clock.now_iso())
    return issue_tokens(emulator, user, family_id=record["family_id"])


def revoke_family(emulator: Emulator, family_id: str) -> None:
    store = emulator.store
    with store.transaction():
        for kind in ("access_tokens", "refresh_tokens"):
            for doc in store.find(kind, where={"family_id": family_id}):
                if not doc.get("revoked"):
                    store.update(kind, doc["id"], revoked=True)


def revoke_user_sessions(emulator: Emulator, user_id: str) -> None:
    store = emulator.store
    with store.transaction():
        for kind in ("access_tokens", "refresh_tokens"):
            for doc in store.find(kind, where={"user_id": user_id, "revoked": False}):
                store.update(kind, doc["id"], revoked=True)


# --------------------------------------------------------------------------- API keys
def make_api_key(environment: str = "live") -> Tuple[str, str, str]:
    """(key, prefix shown in listings, hash stored)."""
    key = f"fab_{environment}_" + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
    return key, key[:13], token_hash(key)


# --------------------------------------------------------------------------- resolution
def resolve(emulator: Emulator, headers: Mapping[str, str]) -> Tuple[Optional[Principal], Optional[ApiError]]:
    """(principal, None), (None, None) without credentials, or (None, the 401 to raise)."""

    try:
        return _resolve(emulator, headers), None
    except ApiError as err:
        return None, err


def _resolve(emulator: Emulator, headers: Mapping[str, str]) -> Optional[Principal]:

    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <token>'.")
        if token.startswith(API_KEY_PREFIXES):
            return _from_api_key(emulator, token)
        return _from_access_token(emulator, token)
    principal_id = headers.get("x-principal-id")
    if principal_id:
        if not emulator.config.principal_header:
            raise ApiError(401, "unauthorized", "This server does not accept X-Principal-Id.")
        if not is_uuid(principal_id):
            raise ApiError(401, "unauthorized", "X-Principal-Id must be a UUID.")
        return principal_for_id(emulator, str(uuid.UUID(principal_id)), via="principal_header")
    return None


def principal_for_id(emulator: Emulator, principal_id: str, *, via: str) -> Principal:
    user = emulator.store.get("users", principal_id)
    if user is not None:
        return Principal(id=principal_id, kind="user", via=via, user=user)
    account = emulator.store.get("service_accounts", principal_id)
    if account is not None:
        return Principal(id=principal_id, kind="service_account", via=via, extra={"service_account": account})
    return Principal(id=principal_id, kind="external", via=via)


def _from_api_key(emulator: Emulator, token: str) -> Principal:

    record = emulator.store.find_one("api_keys", where={"_key_hash": token_hash(token)})
    if record is None or not record.get("active") or record.get("deleted"):
        raise ApiError(
            401, "unauthorized", "The API key is not valid (unknown, disabled, rotated or deleted)."
        )
    if record.get("expires_at") and emulator.clock.is_past(record["expires_at"]):
        raise ApiError(401, "token_expired", "The API key has expired (see its expires_at).")
    owner_id = record.get("service_account_id") or record["created_by"]
    principal = principal_for_id(emulator, owner_id, via="api_key")
    if principal.kind == "service_account" and principal.extra["service_account"].get("disabled"):
        raise ApiError(401, "unauthorized", "The service account of this API key is disabled.")
    if principal.user is not None and principal.user.get("disabled"):
        raise ApiError(401, "unauthorized", "The user of this API key is disabled.")
    _touch(emulator, record)
    principal.scopes = frozenset(record["scopes"]) if record.get("scopes") else None
    principal.api_key_id = record["id"]
    principal.organization_id = record.get("organization_id")
    return principal


def _touch(emulator: Emulator, record: Dict[str, Any]) -> None:
    """Keep ``last_used_at`` roughly current without a write on every request."""
    last = record.get("last_used_at")
    if last is None or expires_within(emulator, last) < -60:
        emulator.store.update("api_keys", record["id"], last_used_at=emulator.clock.now_iso())


def _from_access_token(emulator: Emulator, token: str) -> Principal:

    record = emulator.store.get("access_tokens", token_hash(token))
    if record is None or record.get("revoked"):
        raise ApiError(401, "unauthorized", "The access token is not valid.")
    if emulator.clock.is_past(record["expires_at"]):
        raise ApiError(401, "token_expired", "The access token has expired; refresh it.")
    user = emulator.store.get("users", record["user_id"])
    if user is None or user.get("disabled"):
        raise ApiError(401, "unauthorized", "The access token is not valid.")
    scopes = record.get("scopes")
    return Principal(
        id=user["id"],
        kind="user",
        via="access_token",
        user=user,
        scopes=frozenset(scopes) if scopes else None,
        access_token_id=record["id"],
        family_id=record["family_id"],
    )


def expires_within(emulator: Emulator, iso_time: str) -> float:
    return (parse_iso(iso_time) - emulator.clock.now()).total_seconds()

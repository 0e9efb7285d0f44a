"""OAuth clients (and apps, which are OAuth clients owned by an organization) and their tokens.

Tokens issued by ``POST /v1/oauth/token`` are ordinary emulator access tokens (kind
``access_tokens``, so every route accepts them) narrowed to scopes and tagged with the client
(``oauth_client_id`` / ``app_id``):

* ``client_credentials`` — the client acts as the principal who registered it, limited to the
  client's scopes (or the requested subset). No refresh token (RFC 6749 §4.4.3).
* ``token_exchange`` (RFC 8693; the SDK's ``as_user`` flows) — a user's access token or API key
  (``subject_token``) becomes a token of the client acting as that user, limited to the
  client's scopes; it comes with a refresh token.
* ``refresh_token`` — single use and rotating, like the sign-in refresh tokens; a reused one
  revokes its whole family. Stored apart (``oauth_refresh_tokens``) so that
  ``/v1/auth/token/refresh`` never turns a narrowed OAuth token into a full session.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .._infra.clock import iso
from .._infra.http import ApiError, invalid_field
from . import auth as _auth

if TYPE_CHECKING:
    from .._state import Emulator

CLIENTS = "oauth_clients"
APPS = "apps"
REFRESH = "oauth_refresh_tokens"
TOKEN_TYPE_ACCESS = "urn:ietf:params:oauth:token-type:access_token"
# The public clients' as_user(): the subject is a user id, vouched for by the client itself.
TOKEN_TYPE_USER_ID = "urn:fabric:user_id"


def new_client_credentials(prefix: str) -> Tuple[str, str]:
    """(client_id, client_secret)."""
    return f"{prefix}{uuid.uuid4().hex}", _auth.new_secret("fcs_", 32)


def find_client(emulator: Emulator, client_id: str) -> Optional[Dict[str, Any]]:
    """The OAuth client or app with this ``client_id`` (an inactive app counts as absent)."""
    store = emulator.store
    doc = store.find_one(CLIENTS, where={"client_id": client_id})
    if doc is not None:
        return dict(doc, _kind=CLIENTS)
    app = store.find_one(APPS, where={"client_id": client_id})
    if app is not None and app.get("active", True):
        return dict(app, _kind=APPS)
    return None


def authenticate_client(emulator: Emulator, client_id: str, client_secret: str) -> Dict[str, Any]:
    client = find_client(emulator, client_id)
    expected = (client or {}).get("_secret_hash") or ""
    # Compare even for an unknown client so timing does not say which client ids exist.
    given = _auth.token_hash(client_secret)
    if client is None or not hmac.compare_digest(expected or "0" * 64, given):
        raise ApiError(401, "unauthorized", "Invalid client credentials (invalid_client).")
    return client


def granted_scopes(
    client: Dict[str, Any], requested: Optional[str], ceiling: Optional[List[str]] = None
) -> List[str]:
    """The scopes a token gets: the request (default: all the client's), within the client's."""
    allowed = list(client.get("scopes") or [])
    wanted = requested.split() if requested else allowed
    if allowed:
        outside = [s for s in wanted if s not in allowed]
        if outside:
            raise ApiError(
                400,
                "validation_error",
                f"invalid_scope: the client may not request {', '.join(outside)}",
                {"errors": [{"path": "scope", "message": "outside the client's scopes"}]},
            )
    scopes = sorted(set(wanted))
    if ceiling is not None:  # a scoped subject token cannot gain scopes by exchange
        scopes = [s for s in scopes if s in ceiling] if scopes else sorted(ceiling)
    return scopes


def issue(
    emulator: Emulator,
    client: Dict[str, Any],
    user_id: str,
    scopes: List[str],
    *,
    with_refresh: bool,
    family_id: Optional[str] = None,
) -> Dict[str, Any]:
    store, config = emulator.store, emulator.config
    family_id = family_id or str(uuid.uuid4())
    access = _auth.new_secret(_auth.ACCESS_PREFIX)
    now = emulator.clock.now()
    tag = {"oauth_client_id": client["id"] if client["_kind"] == CLIENTS else None}
    tag["app_id"] = client["id"] if client["_kind"] == APPS else None
    refresh: Optional[str] = None
    with store.transaction():
        store.insert(
            "access_tokens",
            {
                "id": _auth.token_hash(access),
                "user_id": user_id,
                "family_id": family_id,
                "expires_at": iso(now + timedelta(seconds=config.access_token_ttl)),
                "revoked": False,
                "created_at": iso(now),
                "scopes": scopes or None,
                **tag,
            },
        )
        if with_refresh:
            refresh = _auth.new_secret("fort_")
            store.insert(
                REFRESH,
                {
                    "id": _auth.token_hash(refresh),
                    "client_id": client["client_id"],
                    "user_id": user_id,
                    "family_id": family_id,
                    "scopes": scopes,
                    "expires_at": iso(now + timedelta(seconds=config.refresh_token_ttl)),
                    "used": False,
                    "revoked": False,
                    "created_at": iso(now),
                },
            )
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": int(config.access_token_ttl),
        "refresh_token": refresh,
        "scope": " ".join(scopes) if scopes else None,
    }


def revoke_family(emulator: Emulator, family_id: str) -> None:
    _auth.revoke_family(emulator, family_id)
    store = emulator.store
    for doc in store.find(REFRESH, where={"family_id": family_id, "revoked": False}):
        store.update(REFRESH, doc["id"], revoked=True)


def refresh(emulator: Emulator, client: Optional[Dict[str, Any]], token: str) -> Dict[str, Any]:
    """Rotate a refresh token; ``client=None``: the token names its client (a public client)."""
    store = emulator.store
    record = store.get(REFRESH, _auth.token_hash(token))
    if record is not None and client is None:
        client = find_client(emulator, record["client_id"])
    if (
        client is None
        or record is None
        or record.get("revoked")
        or record["client_id"] != client["client_id"]
    ):
        raise ApiError(401, "unauthorized", "The refresh token is not valid (invalid_grant).")
    if record.get("used"):
        revoke_family(emulator, record["family_id"])  # a rotated token came back: it leaked
        raise ApiError(401, "unauthorized", "The refresh token was already used; its tokens are revoked.")
    if emulator.clock.is_past(record["expires_at"]):
        raise ApiError(401, "token_expired", "The refresh token has expired.")
    user = store.get("users", record["user_id"])
    if user is None or user.get("disabled"):
        raise ApiError(401, "unauthorized", "The refresh token is not valid (invalid_grant).")
    store.update(REFRESH, record["id"], used=True)
    return issue(
        emulator,
        client,
        record["user_id"],
        list(record.get("scopes") or []),
        with_refresh=True,
        family_id=record["family_id"],
    )


def revoke_client_tokens(emulator: Emulator, client: Dict[str, Any]) -> None:
    """Every token issued to a deleted client (or a deactivated app) stops working."""
    store = emulator.store
    field = "app_id" if client.get("_kind") == APPS else "oauth_client_id"
    families = {d["family_id"] for d in store.find("access_tokens", where={field: client["id"]})}
    for doc in store.find(REFRESH, where={"client_id": client["client_id"]}):
        families.add(doc["family_id"])
    for family_id in families:
        revoke_family(emulator, family_id)


def string_list(value: Any, path: str, *, limit: int = 50) -> List[str]:
    if value is None:
        return []
    if (
        not isinstance(value, list)
        or len(value) > limit
        or not all(isinstance(v, str) and 0 < len(v) <= 2048 for v in value)
    ):
        raise invalid_field(path, f"must be an array of at most {limit} non-empty strings")
    return list(dict.fromkeys(value))


def redirect_uris(value: Any) -> List[str]:
    from urllib.parse import urlsplit

    uris = string_list(value, "redirect_uris")
    for uri in uris:
        try:
            parts = urlsplit(uri)
        except ValueError:
            parts = None
        if parts is None or not parts.scheme or not (parts.netloc or parts.scheme not in ("http", "https")):
            raise invalid_field("redirect_uris", f"{uri[:100]!r} is not an absolute URI")
    return uris

"""API keys: creation (stored hashed, shown once), rotation and their public view."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .._infra.http import strip
from . import auth as _auth

if TYPE_CHECKING:
    from .._state import Emulator


def public_key(doc: Dict[str, Any]) -> Dict[str, Any]:
    out = strip(doc, "deleted")
    # What the public clients' ApiKey model reads, beside our own fields.
    out.setdefault("description", None)
    out.setdefault("expires_at", None)
    out["disabled"] = not doc.get("active", True)
    return out


def created_key(doc: Dict[str, Any], key: str) -> Dict[str, Any]:
    return dict(public_key(doc), key=key)


def new_key_doc(
    emulator: Emulator,
    *,
    name: str,
    org_id: str,
    scopes: List[str],
    created_by: str,
    service_account_id: Optional[str] = None,
    environment: str = "live",
    description: Optional[str] = None,
    expires_at: Optional[str] = None,
) -> Dict[str, Any]:
    """Store a new key; returns ``(doc, plain key)`` as the doc plus ``key``."""
    key, prefix, key_hash = _auth.make_api_key(environment)
    doc = {
        "id": str(uuid.uuid4()),
        "name": name,
        "prefix": prefix,
        "organization_id": org_id,
        "scopes": scopes,
        "service_account_id": service_account_id,
        "active": True,
        "created_by": created_by,
        "created_at": emulator.clock.now_iso(),
        "last_used_at": None,
        "description": description,
        "expires_at": expires_at,
        "_key_hash": key_hash,
    }
    emulator.store.insert("api_keys", doc)
    return created_key(doc, key)


def rotated_key(emulator: Emulator, doc: Dict[str, Any]) -> Dict[str, Any]:
    """Give a stored API key a new value under the same id (what both key-rotation routes do).

    Args:
        emulator: The emulator.
        doc: The stored key (its environment, live or test, is kept).

    Returns:
        The public key plus its new value as ``key`` (shown this once).
    """
    environment = "test" if doc["prefix"].startswith("fab_test_") else "live"
    key, shown, key_hash = _auth.make_api_key(environment)
    # Same id, new secret: the old value stops matching at once.
    updated = emulator.store.update(
        "api_keys", doc["id"], prefix=shown, _key_hash=key_hash, rotated_at=emulator.clock.now_iso()
    )
    assert updated is not None
    return created_key(updated, key)

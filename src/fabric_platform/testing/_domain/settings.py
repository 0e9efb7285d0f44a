"""Organization settings: the stored overrides merged over the defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

if TYPE_CHECKING:
    from .._state import Emulator

DEFAULT_SETTINGS: Dict[str, Any] = {
    "default_member_role": "member",
    "require_totp": False,
    "allowed_email_domains": [],
    "data_retention_days": None,
}


def settings_for(emulator: Emulator, org_id: str) -> Dict[str, Any]:
    stored = emulator.store.get("org_settings", org_id) or {}
    merged = dict(DEFAULT_SETTINGS)
    merged.update({k: v for k, v in stored.items() if k != "id"})
    merged["organization_id"] = org_id
    return merged

"""Explicit permission grants (allow/deny per principal, action and resource pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .._state import Emulator


def matching_grant(
    emulator: Emulator, org_id: str, principal_id: str, action: str, resource: Optional[str]
) -> Optional[str]:
    """'deny' | 'allow' | None for the grants of ``principal_id`` in ``org_id``."""
    grants = emulator.store.find(
        "permission_grants", org_id=org_id, where={"principal_id": principal_id, "action": action}
    )
    rtype = (resource or "").partition(":")[0]
    matches = [g for g in grants if resource is None or g["resource"] in (resource, f"{rtype}:all", "*")]
    if any(g["effect"] == "deny" for g in matches):
        return "deny"
    if matches:
        return "allow"
    return None

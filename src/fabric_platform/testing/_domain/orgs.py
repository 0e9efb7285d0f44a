"""Organizations, memberships and roles.

A principal sees an organization only through an active org-level membership (``team_id`` None);
roles rank viewer < member < admin < owner.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .._infra.http import ApiError, not_found, strip

if TYPE_CHECKING:
    from .._state import Emulator

ROLES = ("viewer", "member", "admin", "owner")


ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


def org_or_404(emulator: Emulator, org_id: str) -> Dict[str, Any]:
    org = emulator.store.get("organizations", org_id)
    if org is None or org.get("deleted"):
        raise not_found("organization")
    return org


def membership(emulator: Emulator, principal_id: str, org_id: str) -> Optional[Dict[str, Any]]:
    return emulator.store.find_one(
        "memberships",
        org_id=org_id,
        where={"principal_id": principal_id, "team_id": None, "active": True},
    )


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62})$")


def check_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise ApiError(
            400,
            "validation_error",
            "slug must be lowercase letters, digits and dashes (1-63 characters, not starting with a dash).",
            {"errors": [{"path": "slug", "message": "invalid slug"}]},
        )
    return slug


def check_role(role: str, field: str = "role") -> str:
    if role not in ROLE_RANK:
        raise ApiError(
            400,
            "validation_error",
            f"{field} must be one of owner, admin, member, viewer.",
            {"errors": [{"path": field, "message": "not a role"}]},
        )
    return role


def public_org(org: Dict[str, Any]) -> Dict[str, Any]:
    return strip(org, "deleted")


def add_member(
    emulator: Emulator,
    org_id: str,
    principal_id: str,
    role: str,
    email: Optional[str],
    team_id: Optional[str] = None,
) -> Dict[str, Any]:
    return emulator.store.insert(
        "memberships",
        {
            "id": str(uuid.uuid4()),
            "principal_id": principal_id,
            "organization_id": org_id,
            "team_id": team_id,
            "role": role,
            "email": email,
            "active": True,
            "created_at": emulator.clock.now_iso(),
        },
    )


def visible_org_ids(emulator: Emulator, principal_id: str) -> List[str]:
    """Organizations the principal belongs to (active org-level memberships)."""
    memberships = emulator.store.find(
        "memberships", where={"principal_id": principal_id, "team_id": None, "active": True}
    )
    ids = []
    for m in memberships:
        org = emulator.store.get("organizations", m["organization_id"])
        if org is not None and not org.get("deleted"):
            ids.append(m["organization_id"])
    return ids


# --------------------------------------------------------------------------- invitations
def public_invitation(emulator: Emulator, invitation: Dict[str, Any]) -> Dict[str, Any]:
    doc = strip(invitation)
    if doc["status"] == "pending" and emulator.clock.is_past(doc["expires_at"]):
        doc["status"] = "expired"
    return doc

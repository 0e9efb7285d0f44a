"""Who is calling and may they: the request-level checks every handler starts with.

The caller is resolved once per request (``current_principal``); the ``require_*`` helpers answer
"not a member" as 404 and "too low a role or scope" as 403, as the real API does.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional

from starlette.requests import Request

from .._domain import auth as _auth
from .._domain.orgs import ROLE_RANK, membership, org_or_404
from .._infra.http import ApiError, emulator_of, is_uuid, not_found


# --------------------------------------------------------------------------- auth
def current_principal(request: Request, *, required: bool = True) -> Optional[_auth.Principal]:
    """The authenticated caller (resolved once per request by the pipeline).

    Missing credentials → 401 ``unauthorized`` (when ``required``); bad or expired ones → 401
    even when not required, because a client that sent credentials expects them to count.
    """
    state = request.scope.setdefault("state", {})
    if "fabric_auth" not in state:
        state["fabric_auth"] = _auth.resolve(emulator_of(request), request.headers)
    principal, error = state["fabric_auth"]
    if error is not None:
        raise error
    if principal is None and required:
        raise ApiError(401, "unauthorized", "Authentication required: send an API key or access token.")
    return principal  # type: ignore[no-any-return]


def user_principal(request: Request) -> _auth.Principal:
    principal = current_principal(request)
    assert principal is not None
    if principal.kind != "user" or principal.user is None:
        raise ApiError(403, "forbidden", "This operation needs a signed-in user.")
    return principal


def require_org_role(request: Request, org_id: str, role: str = "viewer") -> Dict[str, Any]:
    """The caller's membership of ``org_id``: 404 when not a member, 403 when the role is too low."""
    emulator = emulator_of(request)
    principal = current_principal(request)
    assert principal is not None
    if not is_uuid(org_id):
        raise not_found("organization")
    org_or_404(emulator, org_id)
    member = membership(emulator, principal.id, org_id)
    if member is None:
        raise not_found("organization")
    if ROLE_RANK[member["role"]] < ROLE_RANK[role]:
        raise ApiError(
            403, "forbidden", f"This needs the {role} role in the organization (you are {member['role']})."
        )
    return member


def require_org_action(request: Request, org_id: str, action: str) -> Dict[str, Any]:
    """Membership check for ``action`` (its minimum role) plus the API key's scopes."""
    member = require_org_role(request, org_id, "viewer")
    principal = current_principal(request)
    assert principal is not None
    if not _auth.is_read_action(action) and action not in _auth.ARCHIVED_ORG_ACTIONS:
        org = emulator_of(request).store.get("organizations", org_id) or {}
        if org.get("archived"):
            raise ApiError(409, "conflict", "The organization is archived and refuses changes.")
    if not principal.allows(action):
        raise ApiError(403, "forbidden", f"The API key lacks the scope {action!r}.")
    needed = _auth.role_for_action(action)
    if ROLE_RANK[member["role"]] < ROLE_RANK[needed]:
        raise ApiError(403, "forbidden", f"{action!r} needs the {needed} role (you are {member['role']}).")
    return member


def require_scope(request: Request, action: str) -> _auth.Principal:
    principal = current_principal(request)
    assert principal is not None
    if not principal.allows(action):
        raise ApiError(403, "forbidden", f"The API key lacks the scope {action!r}.")
    return principal


def default_org(request: Request, given: Optional[str] = None) -> str:
    """``organization_id`` from the argument, the query, or the caller's API key."""
    value = given or request.query_params.get("organization_id")
    if value:
        if not is_uuid(value):
            raise ApiError(400, "validation_error", "organization_id must be a UUID.")
        return str(uuid.UUID(value))
    principal = current_principal(request)
    assert principal is not None
    if principal.organization_id:
        return principal.organization_id
    # A signed-in user (no key-bound org): their only organization, else say which parameter.
    orgs: List[str] = sorted(
        {
            m["organization_id"]
            for m in emulator_of(request).store.find(
                "memberships", where={"principal_id": principal.id, "team_id": None, "active": True}
            )
            if m.get("organization_id")
        }
    )
    if len(orgs) == 1:
        return orgs[0]
    why = "you belong to no organization" if not orgs else f"you belong to {len(orgs)} organizations"
    raise ApiError(
        400,
        "validation_error",
        f"organization_id is required ({why}): pass it as a query parameter or in the body.",
        {"errors": [{"path": "organization_id", "message": f"is required ({why})"}]},
    )


def check_org(request: Request, org_id: str, action: str, what: str = "organization") -> Dict[str, Any]:
    """``require_org_action``, with "not a member" answered as 404 for ``what``.

    Args:
        request: The request (its caller is checked).
        org_id: The organization the resource belongs to.
        action: The action, e.g. ``"app.read"`` (its minimum role and the key's scopes).
        what: The resource the 404 names.

    Returns:
        The caller's membership of the organization.

    Raises:
        ApiError: 404 ``{what} not found`` for a non-member; 403 or 409 as ``require_org_action``.
    """
    try:
        return require_org_action(request, org_id, action)
    except ApiError as err:
        if err.status == 404:
            raise not_found(what) from None
        raise


def org_doc(request: Request, kind: str, doc_id: str, action: str, what: str) -> Dict[str, Any]:
    """The stored document ``doc_id`` of ``kind``, if the caller may ``action`` it.

    Args:
        request: The request.
        kind: The store kind, e.g. ``"apps"``.
        doc_id: The document's id (already a valid UUID: see ``path_uuid``).
        action: The action checked in the document's organization.
        what: The resource the 404 names.

    Returns:
        The document.

    Raises:
        ApiError: 404 when it does not exist or the caller is not a member of its organization
            (checked in that order); 403 or 409 as ``require_org_action``.
    """
    doc = emulator_of(request).store.get(kind, doc_id)
    if doc is None:
        raise not_found(what)
    check_org(request, doc["organization_id"], action, what)
    return doc

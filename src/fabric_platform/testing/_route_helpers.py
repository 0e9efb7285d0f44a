"""What many route modules check the same way, on top of ``_http.py``.

* A 400 that names one body field (``invalid_field``), and the checks written with it that
  several areas share (``name_field``, ``opt_str``).
* Loading a document of an organization for an action (``org_doc``, ``check_org``): a caller
  outside that organization gets 404 for the document, never 403, so another organization's
  ids cannot be told apart from unknown ones.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from starlette.requests import Request

from ._http import ApiError, emulator_of, not_found, require_org_action

MAX_NAME = 200


def invalid_field(path: str, message: str) -> ApiError:
    """A 400 ``validation_error`` about one field.

    Args:
        path: The field (``details.errors[0].path``; also the message's first word).
        message: What is wrong with it, e.g. ``"must be a string"``.

    Returns:
        The error to raise: message ``"{path} {message}"``, ``details.errors = [{path, message}]``.
    """
    return ApiError(
        400, "validation_error", f"{path} {message}", {"errors": [{"path": path, "message": message}]}
    )


def name_field(value: Any, path: str = "name") -> str:
    """A resource's display name: a non-blank string of at most 200 characters.

    Args:
        value: The value from the body.
        path: The field's name.

    Returns:
        The value, unchanged.

    Raises:
        ApiError: 400 ``validation_error`` naming ``path``.
    """
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise invalid_field(path, f"must be a non-empty string of at most {MAX_NAME} characters")
    return value


def opt_str(body: Dict[str, Any], key: str, *, message: str = "must be a string or null") -> Optional[str]:
    """An optional string field of a body (absent or null → None).

    Args:
        body: The JSON body.
        key: The field.
        message: What the 400 says is wrong (areas word it differently, and clients see it).

    Returns:
        The string, or None.

    Raises:
        ApiError: 400 ``validation_error`` when the value is neither a string nor null.
    """
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid_field(key, message)
    return value


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

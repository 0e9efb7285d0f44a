"""Request bodies as many route modules read them, on top of ``_infra.http``.

* ``StrictBody``: the base of the hand-written request models.
* Field checks that answer a 400 naming the field (``invalid_field``): ``name_field``,
  ``opt_str``, ``opt_int``, ``opt_obj``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from pydantic import BaseModel, ConfigDict

from .._infra.http import invalid_field

MAX_NAME = 200


class StrictBody(BaseModel):
    # Strict: "42" is not an int and 42 is not a string. Unknown fields are ignored, as the
    # spec allows additional properties.
    model_config = ConfigDict(strict=True)


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


def opt_obj(body: Dict[str, Any], key: str) -> Optional[Dict[str, Any]]:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise invalid_field(key, "must be an object or null")
    return value


def opt_int(body: Dict[str, Any], key: str) -> Optional[int]:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise invalid_field(key, "must be an integer or null")
    return value

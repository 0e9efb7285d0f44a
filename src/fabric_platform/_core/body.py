"""Request bodies: JSON encoded once per call, raw bodies described (never shown) in logs."""

from __future__ import annotations

import datetime
import enum
import json
from typing import Any

__all__ = ["describe_content", "encode_json"]


def _json_default(value: Any) -> Any:
    # Values people naturally pass as arguments but json cannot encode. (decimal and uuid
    # are imported here, not at the top: only such values need them, and they cost
    # milliseconds on every `import fabric_platform` otherwise.)
    import decimal
    import uuid

    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):  # pydantic v2 models
        return model_dump(mode="json")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode_json(value: Any) -> bytes:
    """A request body as JSON bytes.

    Encoded once per call, so every attempt (and the server's idempotency check, which
    compares bodies) sees the same bytes.

    Args:
        value: The body (UUIDs, dates, enums, decimals, sets and pydantic models allowed).

    Returns:
        Compact UTF-8 JSON.

    Raises:
        TypeError: A value JSON cannot represent.
        ValueError: NaN or infinity (not JSON).
    """
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
    ).encode("utf-8")


def describe_content(content: Any) -> str:
    """How a raw body shows in logs: its size, never its bytes.

    Args:
        content: ``bytes`` or an iterator/file.

    Returns:
        ``"<n> bytes"`` or the type's name.
    """
    if isinstance(content, bytes):
        return f"{len(content)} bytes"
    return type(content).__name__

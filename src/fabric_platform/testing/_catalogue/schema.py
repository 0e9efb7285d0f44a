"""JSON Schemas of the built-ins' pydantic types, and validation errors a person can read.

The catalogue publishes each workflow's schemas (``GET /v1/workflow-schemas/{name}``) and
validates inputs against exactly those schemas, so what a client reads is what the emulator
enforces. This module derives the schemas and turns jsonschema's errors into
``{"path", "message"}`` pairs that name the field at fault.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Type

import jsonschema
from pydantic import BaseModel

__all__ = ["ModelType", "readable_errors", "schema_of"]

ModelType = Optional[Type[BaseModel]]


def schema_of(model: ModelType) -> Optional[Dict[str, Any]]:
    """The JSON Schema of a pydantic type.

    Args:
        model: The type, or None for an untyped side.

    Returns:
        The schema with nullable fields written as ``type: [X, "null"]``; None for None.
    """
    return None if model is None else _nullable_as_type_list(model.model_json_schema())


def _nullable_as_type_list(node: Any) -> Any:
    """Rewrite pydantic's ``anyOf: [{type: X}, {type: null}]`` as ``type: [X, "null"]``.

    Same meaning; but a validator then reports "42 is not of type 'string', 'null'"
    instead of "42 is not valid under any of the given schemas".
    """
    if isinstance(node, list):
        return [_nullable_as_type_list(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_as_type_list(value) for key, value in node.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        other = branches[0] if branches[1] == {"type": "null"} else branches[1]
        if isinstance(other, dict) and isinstance(other.get("type"), str) and "type" not in out:
            del out["anyOf"]
            out.update(other)
            out["type"] = [other["type"], "null"]
    return out


def readable_errors(validator: jsonschema.Draft202012Validator, instance: Any) -> List[Dict[str, str]]:
    """Validate ``instance`` and report each failure at the field it concerns.

    Args:
        validator: A validator built from a schema of :func:`schema_of`.
        instance: The value to check.

    Returns:
        ``[{"path": "topic", "message": "42 is not of type 'string'"}, ...]`` in path
        order; ``path`` joins the location with "." ("" for the root).
    """
    errors = sorted(
        (leaf for e in validator.iter_errors(instance) for leaf in _leaf_errors(e)),
        key=lambda e: ([str(p) for p in e.absolute_path], str(e.message)),
    )
    return [{"path": _error_path(e), "message": _error_message(e)} for e in errors]


def _leaf_errors(error: jsonschema.ValidationError) -> List[jsonschema.ValidationError]:
    """Replace an ``anyOf [X, null]`` failure with the failures inside X.

    "-1 is less than the minimum of 0" at ``regenerate.parent_variant_index`` says more
    than "{...} is not valid under any of the given schemas" at ``regenerate``.
    """
    if error.validator == "anyOf" and error.context:
        inner = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        if inner and len(inner) < len(error.context):
            return [leaf for e in inner for leaf in _leaf_errors(e)]
    return [error]


def _error_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        # Point at the missing property itself ("topic"), not at its parent object.
        missing = [p for p in error.validator_value if p not in error.instance]
        if missing:
            parts.append(str(missing[0]))
    return ".".join(parts)


def _error_message(error: jsonschema.ValidationError) -> str:
    # jsonschema's oneOf message repeats the whole instance; the subschema that declares
    # the rule carries a description (see FaceSwapInput) that says it better.
    if error.validator == "oneOf" and isinstance(error.schema, dict):
        description = error.schema.get("description")
        if isinstance(description, str) and description:
            return description
    return str(error.message)

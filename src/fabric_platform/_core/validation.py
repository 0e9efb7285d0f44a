"""Strict mode: check a response's data against the spec's generated model.

pydantic and the ~100 generated models are imported on the first validation only: a client
with ``strict=False`` (the default) never pays for them.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, List, Optional

import httpx

from fabric_platform.errors import FabricResponseValidationError

__all__ = ["validate_data"]


@functools.cache
def _validator(schema: str, is_list: bool) -> Any:
    import pydantic

    models = importlib.import_module("fabric_platform_api.models")
    model = getattr(models, schema, None)
    if model is None:
        raise LookupError(schema)
    return pydantic.TypeAdapter(List[model] if is_list else model)  # type: ignore[valid-type]


def validate_data(
    data: Any,
    *,
    schema: str,
    is_list: bool,
    operation_id: str,
    response: httpx.Response,
    request_id: Optional[str],
) -> None:
    """Raise unless ``data`` matches the generated model ``schema``.

    Args:
        data: The envelope's data.
        schema: The component name (of the items, when ``is_list``).
        is_list: The data is a list of ``schema``.
        operation_id: For the message.
        response: Attached to the error.
        request_id: For the message.

    Raises:
        FabricResponseValidationError: The data does not match, or the model is missing. The
            message names locations and problems only: pydantic's own text quotes the
            offending input, which could be a token.
    """
    import pydantic

    try:
        adapter = _validator(schema, is_list)
    except (ImportError, LookupError) as exc:
        raise FabricResponseValidationError(
            f"{operation_id}: strict mode cannot find the generated model {schema!r}",
            response=response,
            operation_id=operation_id,
        ) from exc
    try:
        adapter.validate_python(data)
    except pydantic.ValidationError as exc:
        problems = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = problems[0] if problems else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        rid = f" (request_id={request_id})" if request_id else ""
        target = f"list[{schema}]" if is_list else schema
        raise FabricResponseValidationError(
            f"{operation_id}: response data does not match {target}: {where}: {first['msg']}{more}{rid}",
            response=response,
            operation_id=operation_id,
            errors=problems,
        ) from None

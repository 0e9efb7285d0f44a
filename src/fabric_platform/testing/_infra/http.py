"""HTTP helpers every route uses: the envelope, errors, body parsing, paging.

The request id travels in a context variable set by the pipeline (``_app.py``), so ``ok()``
can put it in ``meta`` without every handler passing the request along.
"""

from __future__ import annotations

import base64
import contextvars
import json
import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Type, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from .._state import Emulator

M = TypeVar("M", bound=BaseModel)

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "fabric_request_id", default="req_unknown"
)


class ApiError(Exception):
    """Raise anywhere in a route: becomes the error envelope with this status and code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Optional[Dict[str, Any]] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def envelope_bytes(
    data: Any,
    *,
    status: int,
    error: Optional[Dict[str, Any]] = None,
    meta: Optional[Dict[str, Any]] = None,
    request_id: Optional[str] = None,
) -> bytes:
    full_meta: Dict[str, Any] = {"request_id": request_id or request_id_var.get(), "status": status}
    if meta:
        full_meta.update(meta)
    return json.dumps(
        {"data": data, "meta": full_meta, "error": error},
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=str,
    ).encode("utf-8")


def ok(
    data: Any,
    *,
    status: int = 200,
    meta: Optional[Dict[str, Any]] = None,
    headers: Optional[Dict[str, str]] = None,
) -> Response:
    """A success envelope ``{data, meta: {request_id, status, ...}, error: null}``."""
    return Response(
        envelope_bytes(data, status=status, meta=meta),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_response(err: ApiError, request_id: Optional[str] = None) -> Response:
    body = envelope_bytes(
        None,
        status=err.status,
        error={"code": err.code, "message": err.message, "details": err.details},
        request_id=request_id,
    )
    return Response(body, status_code=err.status, media_type="application/json", headers=err.headers)


def emulator_of(request: Request) -> Emulator:
    return request.app.state.emulator  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- input
async def json_body(request: Request, model: Optional[Type[M]] = None, *, optional: bool = False) -> Any:
    """The request's JSON object, validated by ``model`` when given.

    ``optional=True`` treats an empty body as ``{}`` (POSTs whose body the contract marks
    optional). Anything else that is not a JSON object is a 400 with a message saying why.
    """
    raw = await request.body()
    if not raw.strip():
        if not optional:
            raise ApiError(400, "invalid_request", "A JSON object body is required.")
        payload: Any = {}
    else:
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "invalid_request", f"Malformed JSON body: {exc}") from None
        except RecursionError:
            payload = None
            _too_deep()
        if _depth_exceeds(payload, MAX_JSON_DEPTH):
            _too_deep()
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_request", "The JSON body must be an object.")
    if model is None:
        return payload
    return validate(model, payload)


MAX_JSON_DEPTH = 64


def _too_deep() -> None:
    raise ApiError(400, "invalid_request", f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests containers deeper than ``limit`` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, (dict, list)):
            if depth > limit:
                return True
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, depth + 1) for child in children)
    return False


def validate(model: Type[M], payload: Any) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = [
            {"path": ".".join(str(p) for p in e["loc"]) or "$", "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
        raise ApiError(
            400, "validation_error", f"Invalid request body: {summary}", {"errors": errors}
        ) from None


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def path_uuid(request: Request, name: str = "id", what: str = "resource") -> str:
    """A UUID path parameter. Malformed → 404: no resource can have that id."""
    value = request.path_params.get(name)
    if not is_uuid(value):
        raise not_found(what)
    return str(uuid.UUID(value))


def query_uuid(request: Request, name: str, *, required: bool = False) -> Optional[str]:
    value = request.query_params.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, "validation_error", f"Query parameter {name!r} is required.")
        return None
    if not is_uuid(value):
        raise ApiError(400, "validation_error", f"Query parameter {name!r} must be a UUID.")
    return str(uuid.UUID(value))


def body_uuid(value: Any, name: str) -> str:
    if not is_uuid(value):
        raise ApiError(
            400,
            "validation_error",
            f"{name} must be a UUID.",
            {"errors": [{"path": name, "message": "not a UUID"}]},
        )
    return str(uuid.UUID(value))


def query_int(
    request: Request, name: str, default: int, *, minimum: int, maximum: Optional[int] = None
) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "validation_error", f"Query parameter {name!r} must be an integer.") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ApiError(400, "validation_error", f"Query parameter {name!r} must be {bound}.")
    return value


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ApiError(400, "validation_error", f"Query parameter {name!r} must be true or false.")


# --------------------------------------------------------------------------- paging
def page_offset(items: Sequence[Any], request: Request) -> Response:
    """Offset page: ``data = items[offset:offset+limit]``, ``meta.total``."""
    limit = query_int(request, "limit", 50, minimum=1, maximum=100)
    offset = query_int(request, "offset", 0, minimum=0)
    return ok(list(items[offset : offset + limit]), meta={"total": len(items), "next_cursor": None})


def page_cursor(items: Sequence[Dict[str, Any]], request: Request) -> Response:
    """Cursor page: ``data = {items, next_cursor}`` over ``items`` (oldest first, each with ``id``).

    The cursor names the last item returned (and its position, as a fallback when that item
    has since been deleted), so inserts do not shift what the next page holds.
    """
    limit = query_int(request, "limit", 50, minimum=1, maximum=100)
    start = 0
    cursor = request.query_params.get("cursor")
    if cursor:
        start = _decode_cursor(cursor, items)
    page = list(items[start : start + limit])
    next_cursor = None
    if start + limit < len(items) and page:
        next_cursor = _encode_cursor(page[-1]["id"], start + len(page))
    return ok({"items": page, "next_cursor": next_cursor}, meta={"next_cursor": next_cursor})


def _encode_cursor(last_id: str, position: int) -> str:
    raw = json.dumps({"after": last_id, "pos": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, items: Sequence[Dict[str, Any]]) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = str(data["after"])
        position = int(data["pos"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "validation_error", "The cursor is not valid.") from None
    for index, item in enumerate(items):
        if item.get("id") == after:
            return index + 1
    return max(0, min(position, len(items)))


def strip(doc: Dict[str, Any], *hidden: str) -> Dict[str, Any]:
    """A copy of a stored document without its private fields (hashes, secrets)."""
    return {k: v for k, v in doc.items() if k not in hidden and not k.startswith("_")}


def listify(value: Optional[List[Any]]) -> List[Any]:
    return list(value or [])


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

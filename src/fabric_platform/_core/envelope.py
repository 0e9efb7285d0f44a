"""Read a Fabric response: the envelope's ``data`` on success, a typed exception otherwise.

Every JSON answer is ``{"data": …, "meta": {"request_id": …}, "error": …}`` (wire contract
§1). Bodies that are not envelopes happen in practice (a proxy's HTML 502, an empty 503 from
a load balancer, a truncated body); errors still map by status, and a success that cannot
be read raises :class:`FabricResponseError` rather than leaking a ``KeyError`` or
``JSONDecodeError`` from deep inside the SDK.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, Iterable, NamedTuple, Optional, Type

import httpx

from fabric_platform._core import log
from fabric_platform._core.retry import parse_retry_after
from fabric_platform.errors import (
    FabricAPIError,
    FabricAuthError,
    FabricConflictError,
    FabricForbiddenError,
    FabricNotFoundError,
    FabricRateLimitError,
    FabricResponseError,
    FabricServerError,
    FabricValidationError,
)

__all__ = [
    "Envelope",
    "build_api_error",
    "error_class_for_status",
    "loads",
    "parse_success",
    "request_id_of",
]

# orjson, the optional speed-up (the "speedups" extra; identical results for valid JSON), is
# imported with the first response rather than with the SDK: it imports uuid and platform,
# which cost more than the rest of the client's import path together.
_NOT_LOADED: Any = object()
_fast_loads: Optional[Callable[[bytes], Any]] = _NOT_LOADED


def _load_fast_loads() -> Optional[Callable[[bytes], Any]]:
    global _fast_loads
    try:
        import orjson

        _fast_loads = orjson.loads
    except ImportError:  # pragma: no cover - depends on the environment
        _fast_loads = None
    return _fast_loads


# Digits mapped to "0", then 19 zeros looked for: a run of 19 digits in two C passes (a
# regex would try a match at every position of the body; the "per-call client CPU" rows).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19


_STATUS_CLASSES: Dict[int, Type[FabricAPIError]] = {
    400: FabricValidationError,
    401: FabricAuthError,
    403: FabricForbiddenError,
    404: FabricNotFoundError,
    409: FabricConflictError,
    422: FabricValidationError,
    429: FabricRateLimitError,
}

# Codes used when the body carries none (not an envelope): the contract's code for the status.
_STATUS_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    408: "request_timeout",
    409: "conflict",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


class Envelope(NamedTuple):
    """The parts of a successful envelope the SDK uses."""

    data: Any
    meta: Dict[str, Any]
    request_id: Optional[str]


def loads(content: bytes) -> Any:
    """Decode JSON bytes, with orjson when it is installed.

    Args:
        content: The raw body.

    Returns:
        The decoded value.

    Raises:
        ValueError: The bytes are not valid JSON (``json.JSONDecodeError`` is a ValueError).
    """
    fast_loads = _fast_loads if _fast_loads is not _NOT_LOADED else _load_fast_loads()
    if fast_loads is not None and _LONG_DIGIT_RUN not in content.translate(_DIGITS_AS_ZERO):
        try:
            return fast_loads(content)
        except ValueError:
            pass  # orjson refuses some JSON the stdlib reads (escaped lone surrogates...)
    # Also for any run of 19 digits or more: orjson (>= 3.10) reads an integer beyond 64
    # bits (-9223372036854775809 has 19) as a float, losing digits. So the result never depends on whether orjson is installed.
    return json.loads(content)


def error_class_for_status(status_code: int) -> Type[FabricAPIError]:
    """The exception class for a non-2xx status (wire contract §1 table).

    Args:
        status_code: The HTTP status.

    Returns:
        The :class:`FabricAPIError` subclass; the base class for statuses the table does not
        name (e.g. 405, 408, 3xx).
    """
    if status_code >= 500:
        return FabricServerError
    return _STATUS_CLASSES.get(status_code, FabricAPIError)


def request_id_of(response: httpx.Response, meta: Optional[Dict[str, Any]] = None) -> Optional[str]:
    """The request id: ``meta.request_id``, else the ``X-Request-Id`` header.

    Args:
        response: The HTTP response.
        meta: The envelope's ``meta`` if it was decoded.

    Returns:
        The id, or None.
    """
    if meta:
        rid = meta.get("request_id")
        if isinstance(rid, str) and rid:
            return rid
    return response.headers.get("x-request-id") or None


def _decode_envelope(content: bytes) -> Optional[Dict[str, Any]]:
    # None means "not an envelope": invalid JSON, or JSON without the envelope's shape.
    if not content:
        return None
    try:
        body = loads(content)
    except ValueError:
        return None
    if isinstance(body, dict) and "data" in body:
        return body
    return None


def _meta_of(body: Dict[str, Any]) -> Dict[str, Any]:
    meta = body.get("meta")
    return meta if isinstance(meta, dict) else {}


def _body_description(response: httpx.Response) -> str:
    # Describe a non-envelope body without quoting it: a proxy page may echo request headers.
    size = len(response.content)
    if not size:
        return "empty body"
    ctype = response.headers.get("content-type", "").split(";", 1)[0].strip() or "unknown type"
    return f"non-envelope {ctype} body, {size} bytes"


def parse_success(
    response: httpx.Response,
    *,
    method: str,
    path: str,
) -> Envelope:
    """Extract ``data`` from a read 2xx response.

    Args:
        response: A 2xx response whose body has been read.
        method: The request method (for the error message).
        path: The request path (for the error message).

    Returns:
        The envelope's data, meta and request id. A 204/205 without a body gives ``data=None``.

    Raises:
        FabricResponseError: The body is not valid JSON or not an envelope.
    """
    content = response.content
    if content:
        # The common case first, written out (it runs once per call: the per-call rows): a
        # JSON object with "data" and a "meta" object carrying the request id. Decoded JSON
        # is only dicts, lists and scalars, so a body or meta that is not an object fails
        # its lookup, and any other shape takes the general path below.
        try:
            body = loads(content)
            meta = body["meta"]
            rid = meta["request_id"]
            data = body["data"]
        except (ValueError, LookupError, TypeError):
            pass
        else:
            if type(rid) is str and rid:
                return Envelope(data, meta, rid)
    elif response.status_code in (204, 205):
        return Envelope(None, {}, request_id_of(response))
    body = _decode_envelope(content)
    if body is None:
        rid = request_id_of(response)
        suffix = f" (request_id={rid})" if rid else ""
        raise FabricResponseError(
            f"{method} {path} -> {response.status_code}: expected a JSON envelope, got a "
            f"{_body_description(response)}{suffix}",
            response=response,
        )
    meta = _meta_of(body)
    return Envelope(body["data"], meta, request_id_of(response, meta))


def build_api_error(
    response: httpx.Response,
    *,
    method: str,
    path: str,
    secrets: Optional[Iterable[str]] = None,
    now: Optional[float] = None,
) -> FabricAPIError:
    """The typed exception for a read non-2xx response.

    Args:
        response: The response, body already read.
        method: The request method.
        path: The request path (no query string, which may carry tokens).
        secrets: Literal secrets of the request, scrubbed from the server's message/details.
        now: Wall-clock time for an HTTP-date ``Retry-After`` (defaults to ``time.time()``).

    Returns:
        An instance of the class for the status, with code, message, request id, details and
        the raw response.
    """
    status = response.status_code
    body = _decode_envelope(response.content)
    error = body.get("error") if body is not None else None
    code: Optional[str] = None
    message: Optional[str] = None
    details: Optional[Dict[str, Any]] = None
    meta: Dict[str, Any] = {}
    if body is not None:
        meta = _meta_of(body)
    if isinstance(error, dict):
        raw_code = error.get("code")
        code = raw_code if isinstance(raw_code, str) and raw_code else None
        raw_message = error.get("message")
        message = str(raw_message) if raw_message is not None else None
        raw_details = error.get("details")
        if isinstance(raw_details, dict):
            details = raw_details
        elif raw_details is not None:
            details = {"details": raw_details}
    if code is None:
        code = _STATUS_CODES.get(status, f"http_{status}")
    if message is None:
        reason = response.reason_phrase or "HTTP error"
        message = reason if body is not None else f"{reason} ({_body_description(response)})"
    secret_list = list(secrets) if secrets else []
    if secret_list:
        message = log.scrub(message, secret_list)
        details = log.scrub_value(details, secret_list)
    cls = error_class_for_status(status)
    kwargs: Dict[str, Any] = {
        "status_code": status,
        "code": code,
        "request_id": request_id_of(response, meta),
        "details": details,
        "response": response,
        "method": method,
        "path": path,
    }
    if cls is FabricRateLimitError:
        # The attribute reports the server's own hint; the retry loop applies its cap.
        kwargs["retry_after"] = parse_retry_after(
            response.headers.get("retry-after"), time.time() if now is None else now, cap=None
        )
    return cls(message, **kwargs)

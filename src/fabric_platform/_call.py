"""One logical call: what an operation's calls share, what one call carries, what it returns.

A :class:`CallTemplate` holds everything that depends only on the operation and the client's
configuration (method, Accept, whether an Idempotency-Key applies, retry budget, whether
responses are validated...). A transport computes it once per operation, so a plain call —
no body, no headers or options of its own, which is most reads — is set up with a handful of
attribute writes. A :class:`Call` is one call's state; what most calls leave unset is a class
attribute, so only calls that use a feature pay for it.
"""

from __future__ import annotations

import datetime
import enum
import json
from typing import Any, Dict, List, NamedTuple, Optional, Set, Tuple

import httpx
from fabric_platform_api._operation import Operation

from fabric_platform import _logging
from fabric_platform._auth import DEFAULT_REFRESH_PATH
from fabric_platform._config import ClientConfig
from fabric_platform._retry import Deadline

__all__ = ["REFRESH_OP", "ApiResponse", "Call", "CallTemplate", "Step", "describe_content", "encode_json"]

# Methods that get an Idempotency-Key. POST and PATCH need one to be retried at all; PUT is
# idempotent by definition, but the key still lets the server deduplicate side effects.
KEYED_METHODS = frozenset({"POST", "PATCH", "PUT"})
# Methods httpx sends an empty body with as "Content-Length: 0"; others get no body headers.
_LENGTH_METHODS = frozenset({"POST", "PATCH", "PUT"})

_ACCEPT = {"json": "application/json", "sse": "text/event-stream", "bytes": "*/*"}


# The token refresh the pipeline sends by itself: authenticated by the refresh token in its
# body (so public), and the TokenStore stores the new pair itself (so no token effect).
REFRESH_OP = Operation(
    operation_id="refresh_token",
    method="POST",
    path=DEFAULT_REFRESH_PATH,
    tag="auth",
    summary="Refresh the session tokens (sent by the pipeline)",
    flat=None,
    ns="auth",
    params=(),
    body="json",
    body_param=None,
    response="json",
    data_schema=None,
    data_is_list=False,
    pagination=None,
    tokens=None,
    flat_returns=None,
    public=True,
    success_status=200,
)


class ApiResponse:
    """The outcome of one successful call, with what ``with_raw_response`` exposes.

    Attributes:
        data: The envelope's ``data`` (raw ``bytes`` for download operations).
        status_code: The HTTP status of the final attempt.
        headers: Its response headers.
        request_id: ``meta.request_id`` or the ``X-Request-Id`` header.
        retries_taken: Attempts repeated by the retry policy (0 = first attempt succeeded).
        elapsed: Seconds the whole call took, waits and retries included.
        http_response: The final ``httpx.Response`` (body already read; connection released).
        meta: The envelope's ``meta`` (``total`` for offset pages, ``next_cursor``, ...).
        idempotency_key: The ``Idempotency-Key`` sent, if any.
    """

    # A plain class rather than a dataclass: @dataclass compiles its methods at import time,
    # and with the dataclasses module that was ~2 ms of every `import fabric_platform`.
    __slots__ = (
        "data",
        "elapsed",
        "headers",
        "http_response",
        "idempotency_key",
        "meta",
        "request_id",
        "retries_taken",
        "status_code",
    )
    _FIELDS = (
        "data",
        "status_code",
        "headers",
        "request_id",
        "retries_taken",
        "elapsed",
        "http_response",
        "meta",
        "idempotency_key",
    )

    def __init__(
        self,
        data: Any,
        status_code: int,
        headers: httpx.Headers,
        request_id: Optional[str],
        retries_taken: int,
        elapsed: float,
        http_response: httpx.Response,
        meta: Optional[Dict[str, Any]] = None,
        idempotency_key: Optional[str] = None,
    ) -> None:
        self.data = data
        self.status_code = status_code
        self.headers = headers
        self.request_id = request_id
        self.retries_taken = retries_taken
        self.elapsed = elapsed
        self.http_response = http_response
        self.meta: Dict[str, Any] = {} if meta is None else meta
        self.idempotency_key = idempotency_key

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"ApiResponse({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiResponse):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value (as a dataclass)


class CallTemplate:
    """What every call of one operation through one transport has in common.

    Computed once per (transport, operation): a transport's configuration never changes
    (``with_options`` makes a new transport), and neither does an operation.
    """

    __slots__ = (
        "accept",
        "base_url",
        "data_is_list",
        "data_schema",
        "host_only",
        "keyed",
        "max_retries",
        "method",
        "op",
        "operation_id",
        "plain_header_key",
        "public",
        "raw_body",
        "timeout",
        "tokens_effect",
        "validate",
    )

    def __init__(self, op: Operation, config: ClientConfig) -> None:
        self.op = op  # kept alive: transports find templates by id(op)
        self.method = op.method.upper()
        self.base_url = config.base_url
        self.raw_body = op.response == "bytes"  # data is the body itself, not an envelope
        self.accept = _ACCEPT.get(op.response, "application/json")
        self.keyed = self.method in KEYED_METHODS
        # Without a body, the only header httpx adds to this method's requests is Host.
        self.host_only = self.method not in _LENGTH_METHODS
        self.public = bool(op.public)
        self.operation_id = op.operation_id
        self.data_schema = op.data_schema
        self.data_is_list = bool(op.data_is_list)
        self.tokens_effect = op.tokens
        self.validate = bool(config.strict and op.data_schema)
        self.timeout = config.timeout
        self.max_retries = config.max_retries
        # The header-cache key of a call without a body or headers of its own (public
        # calls go without credentials: their own entries, not one that flips back and forth).
        self.plain_header_key: Tuple[Any, ...] = (self.accept, None, self.public)


class Call:
    """One call's state: what to send (fixed for every attempt) and how the call is going.

    Filled in by the transport, attribute by attribute (passing ~20 arguments to a
    constructor costs more than setting the few a call needs).
    """

    # Set for every call.
    t: CallTemplate
    path: str
    url: str
    params: List[Tuple[str, str]]  # the PreparedRequest's (not copied: it belongs to the call)
    header_key: Optional[Tuple[Any, ...]]  # None: the headers are not cacheable (a per-call key)
    deadline: Deadline
    timeout: float
    max_retries: int
    debug: bool  # DEBUG logging was on when the call started
    # What a plain call leaves as is (class attributes: a GET without options sets none).
    content: Any = None
    content_type: Optional[str] = None
    override_headers: Optional[httpx.Headers] = None
    idempotency_key: Optional[str] = None
    log_body: Any = None
    replayable = True
    stream = False
    # How the call is going.
    retries_taken = 0
    auth_replayed = False
    proactive_tried = False
    attempt_started = 0.0
    _secrets: Optional[Set[str]] = None

    @property
    def method(self) -> str:
        """The HTTP method."""
        return self.t.method

    @property
    def secrets(self) -> Set[str]:
        """The literal secrets this call carries, for scrubbing error texts (computed when
        first needed: only failures and debug logging look at them)."""
        found = self._secrets
        if found is None:
            # log_body is the JSON body when there is one (a description string otherwise,
            # which holds no secrets).
            found = self._secrets = _logging.collect_secrets(
                headers=self.override_headers or {}, body=self.log_body, params=self.params
            )
        return found


class Step(NamedTuple):
    """What the loop does after a failed attempt: "raise", "retry" (after delay) or "refresh"."""

    action: str
    delay: float
    error: BaseException


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

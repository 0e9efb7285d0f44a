"""One logical call: what an operation's calls share, what one call carries, how it starts.

A :class:`CallTemplate` holds everything that depends only on the operation and the client's
configuration (method, Accept, whether an Idempotency-Key applies, retry budget, whether
responses are validated...). A :class:`CallPlanner` computes it once per operation, so a
plain call — no body, no headers or options of its own, which is most reads — is set up with
a handful of attribute writes. A :class:`Call` is one call's state; what most calls leave
unset is a class attribute, so only calls that use a feature pay for it.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Set, Tuple

import httpx
from fabric_platform_api._operation import Operation

from fabric_platform._config import ClientConfig
from fabric_platform._core import log
from fabric_platform._core.body import describe_content, encode_json
from fabric_platform._core.request import NO_BODY, PreparedRequest
from fabric_platform._core.retry import Deadline

__all__ = ["Call", "CallPlanner", "CallTemplate", "Step"]

# Methods that get an Idempotency-Key. POST and PATCH need one to be retried at all; PUT is
# idempotent by definition, but the key still lets the server deduplicate side effects.
KEYED_METHODS = frozenset({"POST", "PATCH", "PUT"})
# Methods httpx sends an empty body with as "Content-Length: 0"; others get no body headers.
_LENGTH_METHODS = frozenset({"POST", "PATCH", "PUT"})

_ACCEPT = {"json": "application/json", "sse": "text/event-stream", "bytes": "*/*"}
# Templates kept per planner: one per operation used (the spec has ~180).
_TEMPLATE_CACHE_SIZE = 1024


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
            found = self._secrets = log.collect_secrets(
                headers=self.override_headers or {}, body=self.log_body, params=self.params
            )
        return found


class Step(NamedTuple):
    """What the loop does after a failed attempt: "raise", "retry" (after delay) or "refresh"."""

    action: str
    delay: float
    error: BaseException


_REFRESH_OPERATION: List[Operation] = []


def refresh_operation() -> Operation:
    """The spec's token refresh, as the pipeline sends it by itself.

    Public (the refresh token in its body authenticates it), with no token effect and no
    strict validation of its own: the TokenStore checks and stores the new pair itself.
    """
    if not _REFRESH_OPERATION:
        from fabric_platform_api import _ops  # the auth operations only, on the first refresh

        spec = _ops.REFRESH_TOKEN
        fields = {name: getattr(spec, name) for name in Operation.__slots__}
        fields.update(public=True, tokens=None, data_schema=None)
        _REFRESH_OPERATION.append(Operation(**fields))
    return _REFRESH_OPERATION[0]


def _new_idempotency_key() -> str:
    import uuid  # first needed by the first POST; kept off the import path

    return str(uuid.uuid4())


class CallPlanner:
    """Turns a prepared request and the caller's options into a :class:`Call`.

    One per transport (its configuration never changes: ``with_options`` makes a new
    transport), with the templates of the operations it has sent.
    """

    def __init__(self, config: ClientConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self._templates: Dict[int, CallTemplate] = {}

    def _template(self, op: Operation) -> CallTemplate:
        templates = self._templates
        if len(templates) >= _TEMPLATE_CACHE_SIZE:  # only made-up operations (tests) get here
            templates.clear()
        template = templates[id(op)] = CallTemplate(op, self.config)
        return template

    def start(
        self,
        prepared: PreparedRequest,
        *,
        idempotency_key: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        headers: Optional[Mapping[str, str]] = None,
        stream: bool = False,
        deadline: Optional[Deadline] = None,
    ) -> Call:
        """A new call of ``prepared``, its deadline starting now.

        Raises:
            ValueError: ``timeout`` not above 0 or a negative ``max_retries``.
        """
        op = prepared.operation
        t = self._templates.get(id(op))
        if t is None:
            t = self._template(op)
        call = Call()
        call.t = t
        path = call.path = prepared.path
        call.url = t.base_url + path
        call.params = prepared.params
        call.debug = log.logger.isEnabledFor(logging.DEBUG)
        if (
            idempotency_key is None
            and timeout is None
            and max_retries is None
            and headers is None
            and deadline is None
            and not stream
            and not t.keyed
            and not prepared.headers
            and prepared.json is NO_BODY
            and prepared.content is None
        ):
            # A plain call (most reads): the template and Call's defaults say the rest.
            call.header_key = t.plain_header_key
            call.timeout = t.timeout
            call.max_retries = t.max_retries
            call.deadline = Deadline(t.timeout, self.clock)
            return call
        self._configure(call, prepared, idempotency_key, timeout, max_retries, headers, stream, deadline)
        return call

    def _configure(
        self,
        call: Call,
        prepared: PreparedRequest,
        idempotency_key: Optional[str],
        timeout: Optional[float],
        max_retries: Optional[int],
        extra_headers: Optional[Mapping[str, str]],
        stream: bool,
        deadline: Optional[Deadline],
    ) -> None:
        # The general set-up: options, a body, headers of the call's own, Idempotency-Key.
        t = call.t
        if timeout is None:
            call.timeout = t.timeout
        else:
            call.timeout = float(timeout)
            if not call.timeout > 0:
                raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if max_retries is None:
            call.max_retries = t.max_retries
        else:
            if max_retries < 0:
                raise ValueError(f"max_retries must be >= 0, got {max_retries!r}")
            call.max_retries = max_retries
        call.deadline = deadline if deadline is not None else Deadline(call.timeout, self.clock)
        call.stream = stream

        # No Headers object unless the call has headers of its own.
        overrides: Optional[httpx.Headers] = None
        op_headers = prepared.headers
        if op_headers or extra_headers:
            overrides = httpx.Headers(op_headers or {})
            overrides.update(extra_headers or {})

        content = prepared.content
        if prepared.json is not NO_BODY:
            call.log_body = prepared.json
            call.content = encode_json(prepared.json)
            call.content_type = "application/json"
        elif content is not None:
            if isinstance(content, str):
                content = content.encode("utf-8")
            if isinstance(content, (bytearray, memoryview)):
                content = bytes(content)
            # An iterator or file can be read once: such a body is never sent twice.
            call.replayable = isinstance(content, bytes)
            call.content = content
            call.log_body = f"<{describe_content(content)}>"
            if overrides is None or "content-type" not in overrides:
                call.content_type = "application/octet-stream"

        key: Optional[str] = None
        if t.keyed:
            # The caller's key, else one the operation put in its headers, else ours — created
            # once here, so every attempt of this logical call carries the same key.
            key = (
                idempotency_key
                or (overrides.get("idempotency-key") if overrides is not None else None)
                or _new_idempotency_key()
            )
        elif idempotency_key is not None:
            key = idempotency_key
        if key is not None:
            if overrides is None:
                overrides = httpx.Headers()
            overrides["Idempotency-Key"] = key
            call.idempotency_key = key
        call.override_headers = overrides

        # Calls with the same header inputs share one merged Headers object (see
        # RequestBuilder.headers); a per-call value such as an Idempotency-Key opts out.
        if overrides is None:
            call.header_key = (t.accept, call.content_type, t.public)
        elif "idempotency-key" not in overrides:
            call.header_key = (t.accept, call.content_type, t.public, *overrides.multi_items())
        else:
            call.header_key = None

    def refresh_call(self, parent: Call, path: str, body: Dict[str, Any], key: str) -> Call:
        """The token refresh a call needs, as part of that call.

        It spends the parent's deadline and retry budget, and goes without credentials (the
        refresh token in its body authenticates it).
        """
        return self.start(
            PreparedRequest(operation=refresh_operation(), method="POST", path=path, json=body),
            idempotency_key=key,
            timeout=parent.timeout,
            max_retries=parent.max_retries,
            deadline=parent.deadline,
        )

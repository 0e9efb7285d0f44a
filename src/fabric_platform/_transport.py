"""The send pipeline every operation goes through, for the sync and the async client.

One call = one *logical* request: credentials → Idempotency-Key → attempts with retries,
backoff and a total deadline → envelope parsing → typed errors → token effects → optional
strict validation. Everything that decides something lives in :class:`_BaseTransport` and
the pure modules it calls (``_retry``, ``_envelope``, ``_auth``, ``_logging``); the two
subclasses only contain the I/O loop, once with ``def`` and once with ``async def``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import decimal
import enum
import functools
import importlib
import json
import logging
import platform
import random
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Deque,
    Dict,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Protocol,
    Set,
    Tuple,
    Union,
)

import httpx

from fabric_platform import _deadline_io, _logging
from fabric_platform._auth import AuthSnapshot, TokenStore
from fabric_platform._config import ClientConfig
from fabric_platform._envelope import build_api_error, parse_success
from fabric_platform._logging import logger
from fabric_platform._retry import (
    MAX_RETRY_AFTER,
    Deadline,
    attempt_timeout,
    decide_retry,
    parse_retry_after,
)
from fabric_platform._version import __version__
from fabric_platform.errors import (
    FabricAuthError,
    FabricConnectionError,
    FabricError,
    FabricResponseError,
    FabricResponseValidationError,
    FabricTimeoutError,
)

if TYPE_CHECKING:
    from fabric_platform._request import PreparedRequest

__all__ = ["USER_AGENT", "ApiResponse", "AsyncTransport", "SyncTransport"]

USER_AGENT = (
    f"fabric-platform-python/{__version__} "
    f"(python {platform.python_version()}; {platform.system().lower() or 'unknown'})"
)

# Methods that get an Idempotency-Key. POST and PATCH need one to be retried at all; PUT is
# idempotent by definition, but the key still lets the server deduplicate side effects.
_KEYED_METHODS = frozenset({"POST", "PATCH", "PUT"})

# Connection pool of a client we create. Keep-alive connections are what make a client
# cheap to reuse; the cap protects the server from a runaway thread pool.
_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)

#: Requests an AsyncTransport lets into its httpx pool at once; the rest wait in the SDK, in
#: order, their wait counting against their deadline. httpcore's async pool does work per
#: queued request and per pooled connection on every request it starts or finishes, so a
#: burst of 1,000 tasks queued inside it ends in pool timeouts; below the keep-alive limit,
#: connections are also reused instead of opened and closed per request.
DEFAULT_MAX_IN_FLIGHT = 16

_LOG_BODY_LIMIT = 2000

_ACCEPT = {"json": "application/json", "sse": "text/event-stream", "bytes": "*/*"}

# Merged request headers kept per transport (see _BaseTransport._request_headers). A handful
# of entries in practice: one per (Accept, Content-Type, call headers, credentials) in use.
_HEADER_CACHE_SIZE = 64
# Both httpx clients inherit this; a subclass that overrides it gets its own build_request.
_HTTPX_BUILD_REQUEST = httpx.Client.build_request


class _OpFacts(Protocol):
    """What the pipeline reads from an operation (an ``Operation`` has these fields)."""

    @property
    def public(self) -> bool: ...
    @property
    def operation_id(self) -> str: ...
    @property
    def response(self) -> str: ...
    @property
    def data_schema(self) -> Optional[str]: ...
    @property
    def data_is_list(self) -> bool: ...
    @property
    def tokens(self) -> Optional[str]: ...


class _RefreshOp(NamedTuple):
    public: bool = True  # authenticated by the refresh token in its body
    operation_id: str = "refresh_token"
    response: str = "json"
    data_schema: Optional[str] = None
    data_is_list: bool = False
    tokens: Optional[str] = None  # the TokenStore stores the new pair itself


_REFRESH_OP = _RefreshOp()
# Public operations (login, signup, health, refresh) go without credentials. Shared: read-only.
_NO_CREDENTIALS = AuthSnapshot(-1, {}, False)


@dataclass
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

    data: Any
    status_code: int
    headers: httpx.Headers
    request_id: Optional[str]
    retries_taken: int
    elapsed: float
    http_response: httpx.Response
    meta: Dict[str, Any] = field(default_factory=dict)
    idempotency_key: Optional[str] = None


class _DeadlineExceeded(Exception):
    """Internal: the call's deadline passed while a response body was still arriving."""


class _Call:
    """Per-call state: what to send (fixed for every attempt) and how the call is going."""

    __slots__ = (
        "_secrets",
        "accept",
        "attempt_started",
        "auth_replayed",
        "content",
        "content_type",
        "data_is_list",
        "data_schema",
        "deadline",
        "header_key",
        "idempotency_key",
        "log_body",
        "max_retries",
        "method",
        "operation_id",
        "override_headers",
        "params",
        "path",
        "proactive_tried",
        "public",
        "replayable",
        "response_kind",
        "retries_taken",
        "stream",
        "timeout",
        "tokens_effect",
        "url",
    )

    # Filled in by _BaseTransport._make_call (attribute by attribute: this object is built
    # once per call, and passing ~20 keyword arguments costs more than setting them).
    method: str
    path: str
    url: str
    params: Tuple[Tuple[str, str], ...]
    accept: str
    content_type: Optional[str]
    override_headers: Optional[httpx.Headers]
    header_key: Optional[Tuple[Any, ...]]  # None: the headers are not cacheable (a per-call key)
    content: Any
    replayable: bool
    idempotency_key: Optional[str]
    deadline: Deadline
    timeout: float
    max_retries: int
    public: bool
    operation_id: str
    response_kind: str
    data_schema: Optional[str]
    data_is_list: bool
    tokens_effect: Optional[str]
    log_body: Any
    stream: bool
    # How the call is going.
    retries_taken: int
    auth_replayed: bool
    proactive_tried: bool
    attempt_started: float
    _secrets: Optional[Set[str]]

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


class _Step(NamedTuple):
    """What the loop does after a failed attempt: "raise", "retry" (after delay) or "refresh"."""

    action: str
    delay: float
    error: BaseException


def _json_default(value: Any) -> Any:
    # Values people naturally pass as arguments but json cannot encode.
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


def _encode_json(value: Any) -> bytes:
    # Encoded once per call, so every attempt (and the server's idempotency check, which
    # compares bodies) sees the same bytes. allow_nan=False: NaN is not JSON.
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
    ).encode("utf-8")


def _is_success(status_code: int) -> bool:
    return 200 <= status_code < 300


@functools.cache
def _validator(schema: str, is_list: bool) -> Any:
    # Imported lazily: the generated models are only needed with strict=True, and importing
    # ~100 pydantic models costs time at client start-up.
    import pydantic

    models = importlib.import_module("fabric_platform_api.models")
    model = getattr(models, schema, None)
    if model is None:
        raise LookupError(schema)
    return pydantic.TypeAdapter(List[model] if is_list else model)  # type: ignore[valid-type]


class _ClientHandle:
    """The httpx client shared by a transport and all its copies, and who closes it."""

    def __init__(
        self,
        client: Union[httpx.Client, httpx.AsyncClient],
        owned: bool,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight!r}")
        self.client = client
        self.owned = owned
        self.closed = False
        self.max_in_flight = max_in_flight
        # One semaphore per event loop (asyncio primitives belong to a loop; a client may
        # be used from several asyncio.run() calls in turn).
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()
        self._finalizer: Any = None
        if owned and isinstance(client, httpx.Client):
            # If the application drops a sync client without closing it, close its pool when
            # it is collected instead of leaving sockets to raise ResourceWarnings.
            self._finalizer = weakref.finalize(self, client.close)
            self._finalizer.atexit = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._finalizer is not None:
            self._finalizer()  # runs client.close() once and unregisters itself

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.owned and isinstance(self.client, httpx.AsyncClient):
            await self.client.aclose()

    def gate(self) -> _Gate:
        """The running loop's bound on requests in flight through this pool."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = _Gate(self.max_in_flight, loop)
        return gate


class _Gate:
    """A first-come-first-served limit on requests in flight, for one event loop.

    A semaphore whose waits end at a deadline. ``asyncio.wait_for(sem.acquire(), t)`` would
    do, but it wraps every waiter in a task of its own: with 1,000 calls queued behind 16
    slots that is 984 extra tasks. Here a waiter is one future and one timer; a freed slot
    is handed straight to the oldest live waiter.
    """

    __slots__ = ("_free", "_loop", "_waiters")

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        self._free = limit
        self._loop = loop
        # Futures of waiting calls, oldest first; a done one (timed out, cancelled) is skipped.
        self._waiters: Deque[asyncio.Future[bool]] = collections.deque()

    @property
    def free(self) -> int:
        """Slots nobody holds (waiters exist only while this is 0)."""
        return self._free

    async def enter(self, timeout: float) -> bool:
        """Take a slot; False when ``timeout`` seconds pass first."""
        if self._free > 0:
            self._free -= 1
            return True
        waiter: asyncio.Future[bool] = self._loop.create_future()
        self._waiters.append(waiter)
        timer = self._loop.call_later(max(0.0, timeout), _time_up, waiter)
        try:
            return await waiter
        except BaseException:
            # Cancelled: if a slot was handed over meanwhile, pass it on.
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.leave()
            raise
        finally:
            timer.cancel()

    def leave(self) -> None:
        """Give a slot back: to the oldest live waiter, else to the pool of free slots."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        self._free += 1


def _time_up(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class _BaseTransport:
    """Shared by both transports: building calls and deciding what follows each attempt."""

    def __init__(
        self,
        config: ClientConfig,
        tokens: Optional[TokenStore],
        *,
        handle: _ClientHandle,
        owns_handle: bool,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        rand: Callable[[], float],
    ) -> None:
        self.config = config
        # Only the transport that created the handle closes it; copies share it.
        self._owns_handle = owns_handle
        self.tokens = tokens if tokens is not None else TokenStore.from_config(config)
        self._handle = handle
        self._clock = clock
        self._wall_clock = wall_clock
        self._rand = rand
        self._closed = False
        self._header_cache: Dict[Tuple[Any, ...], httpx.Headers] = {}
        self._header_cache_client: List[Any] = []

    @property
    def http_client(self) -> Union[httpx.Client, httpx.AsyncClient]:
        """The underlying httpx client (shared with copies)."""
        return self._handle.client

    @property
    def is_closed(self) -> bool:
        """True once this transport (or the one owning the pool) was closed."""
        return self._closed or self._handle.closed

    def _check_open(self) -> None:
        if self.is_closed:
            raise RuntimeError("this Fabric client has been closed; create a new one")

    def _copy_kwargs(
        self, config: Optional[ClientConfig], tokens: Optional[TokenStore], changes: Dict[str, Any]
    ) -> Dict[str, Any]:
        base = self.config if config is None else config
        config = base.replace(**changes) if changes else base
        if tokens is None:
            auth_changed = any(
                getattr(config, k) is not getattr(self.config, k)
                for k in ("api_key", "principal_id", "on_tokens")
            )
            # A different identity must not share (or overwrite) this client's session.
            tokens = (
                TokenStore.from_config(config, refresh_path=self.tokens.refresh_path)
                if auth_changed
                else self.tokens
            )
        return {
            "config": config,
            "tokens": tokens,
            "handle": self._handle,
            "clock": self._clock,
            "wall_clock": self._wall_clock,
            "rand": self._rand,
        }

    # -- building a call -------------------------------------------------------------------

    def _new_call(
        self,
        prepared: PreparedRequest,
        *,
        idempotency_key: Optional[str],
        timeout: Optional[float],
        max_retries: Optional[int],
        headers: Optional[Mapping[str, str]],
        stream: bool,
    ) -> _Call:
        has_json = prepared.has_json
        return self._make_call(
            prepared.operation,
            prepared.method,
            prepared.path,
            tuple(prepared.params),
            prepared.headers,
            headers,
            prepared.json if has_json else None,
            has_json,
            prepared.content,
            idempotency_key,
            None,
            timeout,
            max_retries,
            stream,
        )

    def _make_call(
        self,
        op: _OpFacts,
        method: str,
        path: str,
        params: Tuple[Tuple[str, str], ...],
        op_headers: Optional[Mapping[str, str]],
        extra_headers: Optional[Mapping[str, str]],
        json_body: Any,
        has_json: bool,
        content: Any,
        idempotency_key: Optional[str],
        deadline: Optional[Deadline],
        timeout: Optional[float],
        max_retries: Optional[int],
        stream: bool,
    ) -> _Call:
        # Positional parameters (both callers are in this class): this runs once per call.
        # ``op`` supplies public, operation_id, response, data_schema, data_is_list, tokens.
        if self._closed or self._handle.closed:
            self._check_open()
        method = method.upper()
        config = self.config
        if timeout is None:
            call_timeout = config.timeout
        else:
            call_timeout = float(timeout)
            if not call_timeout > 0:
                raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if max_retries is None:
            retries = config.max_retries
        else:
            retries = max_retries
            if retries < 0:
                raise ValueError(f"max_retries must be >= 0, got {max_retries!r}")

        response_kind = op.response
        accept = _ACCEPT.get(response_kind, "application/json")
        # Most calls carry no headers of their own: then no Headers object is built here.
        overrides: Optional[httpx.Headers] = None
        if op_headers or extra_headers:
            overrides = httpx.Headers(op_headers or {})
            overrides.update(extra_headers or {})

        body: Any = None
        content_type: Optional[str] = None
        replayable = True
        if has_json:
            body = _encode_json(json_body)
            content_type = "application/json"
        elif content is not None:
            if isinstance(content, str):
                content = content.encode("utf-8")
            if isinstance(content, (bytearray, memoryview)):
                content = bytes(content)
            # An iterator or file can be read once: such a body is never sent twice.
            replayable = isinstance(content, bytes)
            body = content
            if overrides is None or "content-type" not in overrides:
                content_type = "application/octet-stream"

        key: Optional[str] = None
        if method in _KEYED_METHODS:
            # The caller's key, else one the operation put in its headers, else ours — created
            # once here, so every attempt of this logical call carries the same key.
            key = (
                idempotency_key
                or (overrides.get("idempotency-key") if overrides is not None else None)
                or str(uuid.uuid4())
            )
        elif idempotency_key is not None:
            key = idempotency_key
        if key is not None:
            if overrides is None:
                overrides = httpx.Headers()
            overrides["Idempotency-Key"] = key

        # Calls with the same header inputs share one merged Headers object (see
        # _request_headers); a per-call value such as an Idempotency-Key opts out.
        header_key: Optional[Tuple[Any, ...]] = None
        if overrides is None:
            header_key = (accept, content_type)
        elif "idempotency-key" not in overrides:
            header_key = (accept, content_type, *overrides.multi_items())
        call = _Call()
        call.method = method
        call.path = path
        call.url = config.base_url + path
        call.params = params
        call.accept = accept
        call.content_type = content_type
        call.override_headers = overrides
        call.header_key = header_key
        call.content = body
        call.replayable = replayable
        call.idempotency_key = key
        call.deadline = deadline if deadline is not None else Deadline(call_timeout, self._clock)
        call.timeout = call_timeout
        call.max_retries = retries
        call.public = bool(op.public)
        call.operation_id = op.operation_id
        call.response_kind = response_kind
        call.data_schema = op.data_schema
        call.data_is_list = bool(op.data_is_list)
        call.tokens_effect = op.tokens
        call.log_body = (
            json_body if has_json else (None if content is None else f"<{_describe_content(content)}>")
        )
        call.stream = stream
        call.retries_taken = 0
        call.auth_replayed = False
        call.proactive_tried = False
        call.attempt_started = 0.0
        call._secrets = None
        return call

    def _refresh_call(self, parent: _Call, path: str, body: Dict[str, Any], key: str) -> _Call:
        # The refresh is part of the caller's call: it spends the same deadline and budget,
        # and goes without credentials (it is authenticated by the refresh token itself).
        return self._make_call(
            _REFRESH_OP,
            "POST",
            path,
            (),  # params
            None,  # op_headers
            None,  # extra_headers
            body,  # json_body
            True,  # has_json
            None,  # content
            key,  # idempotency_key
            parent.deadline,
            parent.timeout,
            parent.max_retries,
            False,  # stream
        )

    def _wants_proactive_refresh(self, call: _Call) -> bool:
        # Tried at most once per call: if it failed transiently, every retry of the call
        # would otherwise start another refresh (each with retries of its own).
        if call.public or call.proactive_tried or not self.tokens.needs_refresh():
            return False
        call.proactive_tried = True
        return True

    def _snapshot(self, call: _Call) -> AuthSnapshot:
        if call.public:
            # Public operations (login, signup, health, refresh) go without credentials: a
            # stale access token must never make a login fail.
            return _NO_CREDENTIALS
        return self.tokens.snapshot()

    def _own_headers(self, call: _Call, auth: AuthSnapshot) -> httpx.Headers:
        # The SDK's headers for one attempt, later entries winning: ours, the configured
        # defaults, the body's type, credentials, then the call's own (Idempotency-Key...).
        headers = httpx.Headers({"User-Agent": USER_AGENT, "Accept": call.accept})
        headers.update(self.config.default_headers)
        if call.content_type is not None:
            headers["Content-Type"] = call.content_type
        headers.update(auth.headers)
        if call.override_headers is not None:
            headers.update(call.override_headers)
        return headers

    def _request_headers(
        self, client: Union[httpx.Client, httpx.AsyncClient], call: _Call, auth: AuthSnapshot
    ) -> httpx.Headers:
        # What `client.build_request(headers=ours)` would send: the client's headers
        # overlaid with ours. Merging costs more than the rest of the SDK's per-call work,
        # and nearly every call sends the same set, so merged results are cached, keyed by
        # the call's header inputs and the credentials; any change to the client's own
        # headers empties the cache. httpx.Request copies the Headers it is given, so a
        # cached object is never modified.
        headers = client.headers
        # httpx keeps a header list it changes in place; compare a copy of it (C-level list
        # equality), or the public `.raw` list if a future httpx stores headers otherwise.
        client_headers = getattr(headers, "_list", None)
        if client_headers is None:
            client_headers = headers.raw
        cache = self._header_cache
        if client_headers != self._header_cache_client:
            cache.clear()
            self._header_cache_client = list(client_headers)
        key = call.header_key
        if key is not None:
            key = (key, *auth.headers.items())
            merged = cache.get(key)
            if merged is not None:
                return merged
        merged = httpx.Headers(client.headers)
        merged.update(self._own_headers(call, auth))
        if key is not None:
            if len(cache) >= _HEADER_CACHE_SIZE:
                cache.clear()
            cache[key] = merged
        return merged

    def _build_request(self, call: _Call, auth: AuthSnapshot) -> httpx.Request:
        per_attempt = attempt_timeout(call.timeout, call.deadline.remaining())
        # An open stream may legitimately stay quiet between events (keep-alives every
        # 15 s), so only connecting is bounded by the deadline; each read gets `timeout`.
        read = call.timeout if call.stream else per_attempt
        client = self._handle.client
        if type(client).build_request is _HTTPX_BUILD_REQUEST and not client.params and not client.cookies:
            # The client adds nothing to a request but its headers (our URL is absolute,
            # so its base_url does not apply; no default params, no cookies), so build the
            # request directly with the merged headers: what client.build_request would
            # make, for less than half its cost (the timeout extension is
            # httpx.Timeout(read, connect=, write=, pool=).as_dict()).
            return httpx.Request(
                call.method,
                call.url,
                params=call.params or None,
                headers=self._request_headers(client, call, auth),
                content=call.content,
                extensions={
                    "timeout": {
                        "connect": per_attempt,
                        "read": read,
                        "write": per_attempt,
                        "pool": per_attempt,
                    }
                },
            )
        return client.build_request(
            call.method,
            call.url,
            params=call.params or None,
            headers=self._own_headers(call, auth),
            content=call.content,
            timeout=httpx.Timeout(read, connect=per_attempt, write=per_attempt, pool=per_attempt),
        )

    # -- what follows an attempt -----------------------------------------------------------

    def _attempt_secrets(self, call: _Call, auth: AuthSnapshot) -> Set[str]:
        if not auth.headers:
            return call.secrets
        return call.secrets | _logging.collect_secrets(headers=auth.headers, body=None, params=())

    def _after_response(self, call: _Call, response: httpx.Response, auth: AuthSnapshot) -> _Step:
        error = build_api_error(
            response,
            method=call.method,
            path=call.path,
            secrets=self._attempt_secrets(call, auth),
            now=self._wall_clock(),
        )
        self._log_response(call, response, error.request_id)
        if (
            response.status_code == 401
            and error.code == "token_expired"
            and auth.uses_session
            and not call.auth_replayed
            and call.replayable
            # Nothing to refresh with (and nobody refreshed meanwhile): the 401 stands.
            and (self.tokens.refresh_token is not None or self.tokens.generation != auth.generation)
        ):
            return _Step("refresh", 0.0, error)
        hint = parse_retry_after(response.headers.get("retry-after"), self._wall_clock(), cap=MAX_RETRY_AFTER)
        decision = decide_retry(
            method=call.method,
            outcome=response.status_code,
            has_idempotency_key=call.idempotency_key is not None,
            retries_taken=call.retries_taken,
            max_retries=call.max_retries,
            remaining=call.deadline.remaining(),
            retry_after=hint,
            replayable_body=call.replayable,
            rand=self._rand,
        )
        if not decision.retry:
            if decision.reason in ("deadline", "exhausted"):
                logger.debug(
                    "giving up on %s %s after %d retries (%s)",
                    call.method,
                    call.path,
                    call.retries_taken,
                    decision.reason,
                )
            return _Step("raise", 0.0, error)
        logger.info(
            "retrying %s %s in %.2fs (retry %d of %d) after %d %s, request_id=%s",
            call.method,
            call.path,
            decision.delay,
            call.retries_taken + 1,
            call.max_retries,
            response.status_code,
            error.code,
            error.request_id,
        )
        return _Step("retry", decision.delay, error)

    def _after_exception(self, call: _Call, exc: BaseException, auth: AuthSnapshot) -> _Step:
        error = self._map_exception(call, exc, auth)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "no response: %s %s failed after %.1fms: %s",
                call.method,
                call.path,
                (self._clock() - call.attempt_started) * 1000.0,
                error,  # already scrubbed of the request's secrets
            )
        decision = decide_retry(
            method=call.method,
            outcome=exc,
            has_idempotency_key=call.idempotency_key is not None,
            retries_taken=call.retries_taken,
            max_retries=call.max_retries,
            remaining=call.deadline.remaining(),
            replayable_body=call.replayable,
            rand=self._rand,
        )
        if not decision.retry:
            return _Step("raise", 0.0, error)
        logger.info(
            "retrying %s %s in %.2fs (retry %d of %d) after %s",
            call.method,
            call.path,
            decision.delay,
            call.retries_taken + 1,
            call.max_retries,
            type(exc).__name__,
        )
        return _Step("retry", decision.delay, error)

    def _map_exception(self, call: _Call, exc: BaseException, auth: AuthSnapshot) -> FabricError:
        where = f"{call.method} {call.path}"
        spent = f"after {call.deadline.elapsed():.2f}s and {call.retries_taken} retries"
        error: FabricError
        if isinstance(exc, _DeadlineExceeded):
            error = FabricTimeoutError(
                f"{where} exceeded its {call.timeout:g}s deadline while reading the response ({spent})"
            )
        elif isinstance(exc, httpx.TimeoutException):
            error = FabricTimeoutError(
                f"{where} timed out ({type(exc).__name__}, timeout={call.timeout:g}s, {spent})"
            )
        else:
            detail = _logging.scrub(str(exc) or type(exc).__name__, self._attempt_secrets(call, auth))
            error = FabricConnectionError(f"{where} failed: {type(exc).__name__}: {detail} ({spent})")
        error.__cause__ = exc
        return error

    def _finish(self, call: _Call, response: httpx.Response) -> ApiResponse:
        if call.response_kind == "bytes":
            data: Any = response.content
            meta: Dict[str, Any] = {}
            request_id = response.headers.get("x-request-id")
            self._log_response(call, response, request_id)
        else:
            try:
                envelope = parse_success(response, method=call.method, path=call.path)
            except FabricResponseError:
                self._log_response(call, response, response.headers.get("x-request-id"))
                raise
            data, meta, request_id = envelope.data, envelope.meta, envelope.request_id
            self._log_response(call, response, request_id)
            if self.config.strict and call.data_schema:
                self._validate(call, data, response, request_id)
            self._apply_token_effect(call, data, response)
        return ApiResponse(
            data=data,
            status_code=response.status_code,
            headers=response.headers,
            request_id=request_id,
            retries_taken=call.retries_taken,
            elapsed=call.deadline.elapsed(),
            http_response=response,
            meta=meta,
            idempotency_key=call.idempotency_key,
        )

    def _apply_token_effect(self, call: _Call, data: Any, response: httpx.Response) -> None:
        if call.tokens_effect == "store":
            if (
                isinstance(data, Mapping)
                and isinstance(data.get("access_token"), str)
                and data["access_token"]
            ):
                self.tokens.store(data)
            else:
                # Same policy as any other shape drift: strict mode has already raised
                # (AuthTokens requires access_token); otherwise hand the data back as is.
                logger.warning(
                    "%s returned no access_token; the session tokens were not updated (request_id=%s)",
                    call.operation_id,
                    response.headers.get("x-request-id"),
                )
        elif call.tokens_effect == "clear":
            self.tokens.clear()

    def _validate(self, call: _Call, data: Any, response: httpx.Response, request_id: Optional[str]) -> None:
        import pydantic

        schema = call.data_schema or ""
        try:
            adapter = _validator(schema, call.data_is_list)
        except (ImportError, LookupError) as exc:
            raise FabricResponseValidationError(
                f"{call.operation_id}: strict mode cannot find the generated model {schema!r}",
                response=response,
                operation_id=call.operation_id,
            ) from exc
        try:
            adapter.validate_python(data)
        except pydantic.ValidationError as exc:
            # Only locations and messages: pydantic's own text quotes the offending input,
            # which could be a token.
            problems = [
                {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                for e in exc.errors()
            ]
            first = problems[0] if problems else {"loc": [], "msg": "invalid"}
            where = ".".join(str(p) for p in first["loc"]) or "<root>"
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            rid = f" (request_id={request_id})" if request_id else ""
            target = f"list[{schema}]" if call.data_is_list else schema
            raise FabricResponseValidationError(
                f"{call.operation_id}: response data does not match {target}: "
                f"{where}: {first['msg']}{more}{rid}",
                response=response,
                operation_id=call.operation_id,
                errors=problems,
            ) from None

    # -- logging ---------------------------------------------------------------------------

    def _log_request(self, call: _Call, request: httpx.Request) -> None:
        if not logger.isEnabledFor(logging.DEBUG):  # DEBUG; skip building the line otherwise
            return
        query = "&".join(f"{k}={v}" for k, v in _logging.redact_query(call.params))
        body = call.log_body
        if body is not None and not isinstance(body, str):
            body = json.dumps(_logging.redact_body(body), default=str, ensure_ascii=False)
            if len(body) > _LOG_BODY_LIMIT:
                body = body[:_LOG_BODY_LIMIT] + "…"
        logger.debug(
            "request: %s %s%s attempt=%d headers=%s body=%s",
            call.method,
            call.path,
            f"?{query}" if query else "",
            call.retries_taken + 1,
            dict(_logging.redact_headers(request.headers.items())),
            body,
        )

    def _log_response(self, call: _Call, response: httpx.Response, request_id: Optional[str]) -> None:
        # Logged once the request id is known (it may only be in the envelope's meta).
        if not logger.isEnabledFor(logging.DEBUG):
            return
        logger.debug(
            "response: %s %s -> %d request_id=%s in %.1fms (retries=%d)",
            call.method,
            call.path,
            response.status_code,
            request_id,
            (self._clock() - call.attempt_started) * 1000.0,
            call.retries_taken,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(config={self.config!r}, closed={self.is_closed})"


def _describe_content(content: Any) -> str:
    if isinstance(content, bytes):
        return f"{len(content)} bytes"
    return type(content).__name__


class _SyncDeadlineStream(httpx.SyncByteStream):
    """Wraps a response stream so reading it stops at the call's deadline.

    httpx's read timeout is per chunk; a server trickling bytes could otherwise hold a call
    far past its deadline.
    """

    def __init__(self, inner: httpx.SyncByteStream, deadline: Deadline, headers: httpx.Headers) -> None:
        self._inner = inner
        self._deadline = deadline
        self._headers = headers  # Content-Length is only looked up once the deadline passed

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            received += len(chunk)
            if self._deadline.expired and not _complete(self._headers, received):
                raise _DeadlineExceeded()
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _AsyncDeadlineStream(httpx.AsyncByteStream):
    """Async twin of :class:`_SyncDeadlineStream`."""

    def __init__(self, inner: httpx.AsyncByteStream, deadline: Deadline, headers: httpx.Headers) -> None:
        self._inner = inner
        self._deadline = deadline
        self._headers = headers

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in self._inner:
            received += len(chunk)
            if self._deadline.expired and not _complete(self._headers, received):
                raise _DeadlineExceeded()
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def _complete(headers: httpx.Headers, received: int) -> bool:
    # Past the deadline, a body that has fully arrived is still accepted.
    value = headers.get("content-length")
    try:
        return value is not None and received >= int(value)
    except ValueError:
        return False


_SEND_ERRORS = (httpx.TransportError, _DeadlineExceeded)


class SyncTransport(_BaseTransport):
    """The pipeline for :class:`FabricClient`. Safe to share between threads."""

    def __init__(
        self,
        config: ClientConfig,
        tokens: Optional[TokenStore] = None,
        http_client: Optional[httpx.Client] = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        _handle: Optional[_ClientHandle] = None,
    ) -> None:
        """Create a transport.

        Args:
            config: The client configuration.
            tokens: The credential store (one is made from ``config`` when omitted).
            http_client: An httpx client to use ("bring your own": it is not closed by us).
                Without one, the transport creates and owns a pooled client.
            clock: Monotonic clock for deadlines (tests inject a fake).
            wall_clock: Wall clock for HTTP-date ``Retry-After``.
            sleep: Sleeps between retries (tests inject a recorder).
            rand: Jitter source.
        """
        owns_handle = _handle is None
        if _handle is None:
            if http_client is not None:
                _handle = _ClientHandle(http_client, owned=False)
            else:
                _handle = _ClientHandle(self._create_http_client(config), owned=True)
        super().__init__(
            config,
            tokens,
            handle=_handle,
            owns_handle=owns_handle,
            clock=clock,
            wall_clock=wall_clock,
            rand=rand,
        )
        self._sleep = sleep

    @staticmethod
    def _create_http_client(config: ClientConfig) -> httpx.Client:
        # Redirects are not followed: the API never redirects, and re-sending a POST to a
        # Location a proxy made up is not something to do silently.
        client = httpx.Client(timeout=config.timeout, limits=_DEFAULT_LIMITS, follow_redirects=False)
        _deadline_io.install(client)  # the deadline also bounds a trickled response head
        return client

    @property
    def _client(self) -> httpx.Client:
        client = self._handle.client
        assert isinstance(client, httpx.Client)
        return client

    def copy(
        self,
        *,
        config: Optional[ClientConfig] = None,
        tokens: Optional[TokenStore] = None,
        **config_changes: Any,
    ) -> SyncTransport:
        """A light copy with some settings changed, sharing the connection pool.

        Args:
            config: A whole new configuration (e.g. from ``ClientConfig.replace``).
            tokens: A different credential store (default: shared, unless the API key,
                principal id or on_tokens change, which gets a fresh store).
            **config_changes: :class:`ClientConfig` fields to change (``timeout``, ``max_retries``...).

        Returns:
            The copy. Closing it does not close the shared pool.
        """
        self._check_open()
        kwargs = self._copy_kwargs(config, tokens, config_changes)
        return SyncTransport(
            kwargs["config"],
            kwargs["tokens"],
            clock=kwargs["clock"],
            wall_clock=kwargs["wall_clock"],
            sleep=self._sleep,
            rand=kwargs["rand"],
            _handle=kwargs["handle"],
        )

    def close(self) -> None:
        """Release the connection pool if this transport created it. Idempotent.

        A ``with_options`` copy only marks itself closed; a user-supplied httpx client is
        never closed by the SDK.
        """
        self._closed = True
        if self._owns_handle:
            self._handle.close()

    def request(
        self,
        prepared: PreparedRequest,
        *,
        idempotency_key: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> ApiResponse:
        """Send one logical call and return its parsed result.

        Args:
            prepared: The request from :func:`~fabric_platform._request.build_request`.
            idempotency_key: Key for POST/PATCH/PUT (default: a new uuid4, reused by retries).
            timeout: Total seconds for the call, retries included (default: config).
            max_retries: Retries allowed (default: config).
            headers: Extra headers for this call.

        Returns:
            The data and response details.

        Raises:
            FabricAPIError: A non-2xx answer (subclass by status), after retries.
            FabricConnectionError: No answer; FabricTimeoutError when out of time.
            FabricResponseError: A 2xx that is not a JSON envelope.
            FabricResponseValidationError: ``strict`` and the data does not match the spec.
        """
        call = self._new_call(
            prepared,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            stream=False,
        )
        response = self._run(call)
        return self._finish(call, response)

    @contextlib.contextmanager
    def open_stream(
        self,
        prepared: PreparedRequest,
        *,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Iterator[httpx.Response]:
        """Open a streamed 2xx response (SSE, downloads); it is closed when the block exits.

        Connecting, auth refresh and retries of failed attempts happen within ``timeout``;
        once open, each read may wait up to ``timeout``.

        Args:
            prepared: The request.
            headers: Extra headers (``Accept``, ``Last-Event-ID``, ...).
            timeout: Seconds (default: config).

        Yields:
            The open ``httpx.Response``; iterate it with ``iter_bytes``/``iter_lines``.

        Raises:
            FabricAPIError: A non-2xx answer (body read, then mapped).
            FabricConnectionError: Could not connect within the deadline.
        """
        call = self._new_call(
            prepared, idempotency_key=None, timeout=timeout, max_retries=None, headers=headers, stream=True
        )
        response = self._run(call)
        try:
            yield response
        finally:
            response.close()

    def _send_refresh(self, parent: _Call) -> Callable[[str, Dict[str, Any], str], Any]:
        def send(path: str, body: Dict[str, Any], key: str) -> Any:
            call = self._refresh_call(parent, path, body, key)
            return self._finish(call, self._run(call)).data

        return send

    def _credentials(self, call: _Call) -> AuthSnapshot:
        if call.public:
            return _NO_CREDENTIALS
        if self._wants_proactive_refresh(call):
            try:
                self.tokens.refresh(self._send_refresh(call), self.tokens.generation)
            except FabricAuthError:
                raise
            except FabricError as exc:
                # Proactive refresh is an optimisation: the token has not expired yet, so a
                # transient failure here should not fail the call. The server will say
                # token_expired if it has, and the reactive path takes over.
                logger.info(
                    "proactive token refresh failed (%s); using the current token", type(exc).__name__
                )
        return self._snapshot(call)

    def _run(self, call: _Call) -> httpx.Response:
        # The attempt loop. Returns a 2xx response: read (and released) unless call.stream.
        client = self._client
        while True:
            auth = self._credentials(call)
            request = self._build_request(call, auth)
            self._log_request(call, request)
            call.attempt_started = self._clock()
            # Socket reads/writes of the attempt (connect, send, head, and the body unless
            # streamed) end by the deadline; set once per attempt (cheaper than two `with`s).
            bounded = _deadline_io.current_deadline.set(call.deadline)
            try:
                try:
                    response = client.send(request, stream=True)
                except httpx.TransportError as exc:
                    step = self._after_exception(call, exc, auth)
                else:
                    try:
                        if not (call.stream and _is_success(response.status_code)):
                            response.stream = _SyncDeadlineStream(
                                response.stream,  # type: ignore[arg-type]
                                call.deadline,
                                response.headers,
                            )
                            response.read()
                    except _SEND_ERRORS as exc:
                        response.close()
                        step = self._after_exception(call, exc, auth)
                    except BaseException:
                        response.close()
                        raise
                    else:
                        if _is_success(response.status_code):
                            if call.stream:
                                self._log_response(call, response, response.headers.get("x-request-id"))
                            return response
                        response.close()
                        step = self._after_response(call, response, auth)
            finally:
                _deadline_io.current_deadline.reset(bounded)
            if step.action == "raise":
                raise step.error
            if step.action == "refresh":
                self.tokens.refresh(self._send_refresh(call), auth.generation)
                call.auth_replayed = True
                continue
            self._sleep(step.delay)
            call.retries_taken += 1


class AsyncTransport(_BaseTransport):
    """The pipeline for :class:`AsyncFabricClient`. Safe to share between tasks."""

    def __init__(
        self,
        config: ClientConfig,
        tokens: Optional[TokenStore] = None,
        http_client: Optional[httpx.AsyncClient] = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        _handle: Optional[_ClientHandle] = None,
    ) -> None:
        """Create a transport.

        Args:
            config: The client configuration.
            tokens: The credential store (one is made from ``config`` when omitted).
            http_client: An httpx.AsyncClient to use (not closed by us); else one we own.
            clock: Monotonic clock for deadlines.
            wall_clock: Wall clock for HTTP-date ``Retry-After``.
            sleep: Awaited between retries.
            rand: Jitter source.
            max_in_flight: Requests let into the connection pool at once (shared with
                copies); more wait, in order, within their own deadline.
        """
        if max_in_flight < 1:  # checked before a pool is created for nothing
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight!r}")
        owns_handle = _handle is None
        if _handle is None:
            if http_client is not None:
                _handle = _ClientHandle(http_client, owned=False, max_in_flight=max_in_flight)
            else:
                _handle = _ClientHandle(
                    self._create_http_client(config), owned=True, max_in_flight=max_in_flight
                )
        super().__init__(
            config,
            tokens,
            handle=_handle,
            owns_handle=owns_handle,
            clock=clock,
            wall_clock=wall_clock,
            rand=rand,
        )
        self._sleep = sleep

    @staticmethod
    def _create_http_client(config: ClientConfig) -> httpx.AsyncClient:
        client = httpx.AsyncClient(timeout=config.timeout, limits=_DEFAULT_LIMITS, follow_redirects=False)
        _deadline_io.install(client)
        return client

    @property
    def _client(self) -> httpx.AsyncClient:
        client = self._handle.client
        assert isinstance(client, httpx.AsyncClient)
        return client

    def copy(
        self,
        *,
        config: Optional[ClientConfig] = None,
        tokens: Optional[TokenStore] = None,
        **config_changes: Any,
    ) -> AsyncTransport:
        """A light copy with some settings changed, sharing the connection pool.

        Args:
            config: A whole new configuration (e.g. from ``ClientConfig.replace``).
            tokens: A different credential store (default: shared, unless credentials change).
            **config_changes: :class:`ClientConfig` fields to change.

        Returns:
            The copy. Closing it does not close the shared pool.
        """
        self._check_open()
        kwargs = self._copy_kwargs(config, tokens, config_changes)
        return AsyncTransport(
            kwargs["config"],
            kwargs["tokens"],
            clock=kwargs["clock"],
            wall_clock=kwargs["wall_clock"],
            sleep=self._sleep,
            rand=kwargs["rand"],
            _handle=kwargs["handle"],
        )

    async def close(self) -> None:
        """Release the connection pool if this transport created it. Idempotent."""
        self._closed = True
        if self._owns_handle:
            await self._handle.aclose()

    async def request(
        self,
        prepared: PreparedRequest,
        *,
        idempotency_key: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> ApiResponse:
        """Send one logical call and return its parsed result.

        Args:
            prepared: The request from :func:`~fabric_platform._request.build_request`.
            idempotency_key: Key for POST/PATCH/PUT (default: a new uuid4, reused by retries).
            timeout: Total seconds for the call, retries included (default: config).
            max_retries: Retries allowed (default: config).
            headers: Extra headers for this call.

        Returns:
            The data and response details.

        Raises:
            FabricAPIError: A non-2xx answer (subclass by status), after retries.
            FabricConnectionError: No answer; FabricTimeoutError when out of time.
            FabricResponseError: A 2xx that is not a JSON envelope.
            FabricResponseValidationError: ``strict`` and the data does not match the spec.
        """
        call = self._new_call(
            prepared,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            stream=False,
        )
        response = await self._run(call)
        return self._finish(call, response)

    @contextlib.asynccontextmanager
    async def open_stream(
        self,
        prepared: PreparedRequest,
        *,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> AsyncIterator[httpx.Response]:
        """Open a streamed 2xx response (SSE, downloads); it is closed when the block exits.

        Args:
            prepared: The request.
            headers: Extra headers (``Accept``, ``Last-Event-ID``, ...).
            timeout: Seconds (default: config).

        Yields:
            The open ``httpx.Response``; iterate it with ``aiter_bytes``/``aiter_lines``.

        Raises:
            FabricAPIError: A non-2xx answer (body read, then mapped).
            FabricConnectionError: Could not connect within the deadline.
        """
        call = self._new_call(
            prepared, idempotency_key=None, timeout=timeout, max_retries=None, headers=headers, stream=True
        )
        response = await self._run(call)
        try:
            yield response
        finally:
            await response.aclose()

    def _send_refresh(self, parent: _Call) -> Callable[[str, Dict[str, Any], str], Awaitable[Any]]:
        async def send(path: str, body: Dict[str, Any], key: str) -> Any:
            call = self._refresh_call(parent, path, body, key)
            return self._finish(call, await self._run(call)).data

        return send

    async def _credentials(self, call: _Call) -> AuthSnapshot:
        if call.public:
            return _NO_CREDENTIALS
        if self._wants_proactive_refresh(call):
            try:
                await self.tokens.arefresh(self._send_refresh(call), self.tokens.generation)
            except FabricAuthError:
                raise
            except FabricError as exc:
                logger.info(
                    "proactive token refresh failed (%s); using the current token", type(exc).__name__
                )
        return self._snapshot(call)

    async def _run(self, call: _Call) -> httpx.Response:
        client = self._client
        gate = self._handle.gate()
        while True:
            auth = await self._credentials(call)
            if not await gate.enter(call.deadline.remaining()):
                # Out of time while waiting for a turn: the same outcome as httpx's own
                # pool timeout, so it is reported (and never retried) the same way.
                raise self._after_exception(call, httpx.PoolTimeout("no free slot in time"), auth).error
            try:
                outcome = await self._attempt(client, call, auth)
            finally:
                # Held for the request and its body (for a stream: until its head arrived).
                gate.leave()
            if isinstance(outcome, httpx.Response):
                return outcome
            step = outcome
            if step.action == "raise":
                raise step.error
            if step.action == "refresh":
                await self.tokens.arefresh(self._send_refresh(call), auth.generation)
                call.auth_replayed = True
                continue
            await self._sleep(step.delay)
            call.retries_taken += 1

    async def _attempt(
        self, client: httpx.AsyncClient, call: _Call, auth: AuthSnapshot
    ) -> Union[httpx.Response, _Step]:
        # One attempt, inside the gate: the 2xx response (read unless call.stream), or what
        # to do next. The request is built here, so its timeouts start from what is left
        # of the deadline once the turn came.
        request = self._build_request(call, auth)
        self._log_request(call, request)
        call.attempt_started = self._clock()
        bounded = _deadline_io.current_deadline.set(call.deadline)  # as in SyncTransport._run
        try:
            return await self._exchange(client, call, request, auth)
        finally:
            _deadline_io.current_deadline.reset(bounded)

    async def _exchange(
        self, client: httpx.AsyncClient, call: _Call, request: httpx.Request, auth: AuthSnapshot
    ) -> Union[httpx.Response, _Step]:
        try:
            response = await client.send(request, stream=True)
        except httpx.TransportError as exc:
            return self._after_exception(call, exc, auth)
        try:
            if not (call.stream and _is_success(response.status_code)):
                response.stream = _AsyncDeadlineStream(
                    response.stream,  # type: ignore[arg-type]
                    call.deadline,
                    response.headers,
                )
                await response.aread()
        except _SEND_ERRORS as exc:
            await response.aclose()
            return self._after_exception(call, exc, auth)
        except BaseException:
            await response.aclose()
            raise
        if _is_success(response.status_code):
            if call.stream:
                self._log_response(call, response, response.headers.get("x-request-id"))
            return response
        await response.aclose()
        return self._after_response(call, response, auth)

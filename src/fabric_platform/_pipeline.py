"""The base of both transports: setting up a call and building each attempt's request.

One call = one *logical* request: credentials → Idempotency-Key → attempts with retries,
backoff and a total deadline → envelope parsing → typed errors → token effects → optional
strict validation. Everything that decides something lives in :class:`BaseTransport` (and
its base :class:`~fabric_platform._outcome.Outcomes`); ``_sync_transport`` and
``_async_transport`` only contain the I/O loop, once with ``def`` and once with ``async def``.

The common case is kept short: a call without a body, headers or options of its own (most
reads) is set up from its operation's :class:`~fabric_platform._call.CallTemplate` and sent
with headers merged once and cached; everything else takes the general path.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar, Union

import httpx

from fabric_platform._auth import AuthSnapshot, TokenStore
from fabric_platform._call import REFRESH_OP, Call, CallTemplate, describe_content, encode_json
from fabric_platform._client_handle import ClientHandle
from fabric_platform._config import ClientConfig
from fabric_platform._logging import logger
from fabric_platform._outcome import Outcomes
from fabric_platform._request import NO_BODY, PreparedRequest
from fabric_platform._retry import Deadline, attempt_timeout
from fabric_platform._version import __version__

if TYPE_CHECKING:
    from fabric_platform_api._operation import Operation

__all__ = ["NO_CREDENTIALS", "USER_AGENT", "BaseTransport"]

_T = TypeVar("_T", bound="BaseTransport")

USER_AGENT = (
    f"fabric-platform-python/{__version__} "
    # sys rather than the platform module: same facts, without its import cost.
    f"(python {sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}; {sys.platform})"
)


def _new_idempotency_key() -> str:
    import uuid  # first needed by the first POST; kept off the import path

    return str(uuid.uuid4())


# Merged request headers kept per transport (see BaseTransport._request_headers). A handful
# of entries in practice: one per (Accept, Content-Type, call headers, credentials) in use.
_HEADER_CACHE_SIZE = 64
# Templates kept per transport: one per operation used (the spec has ~180).
_TEMPLATE_CACHE_SIZE = 1024
# Both httpx clients inherit this; a subclass that overrides it gets its own build_request.
_HTTPX_BUILD_REQUEST = httpx.Client.build_request
# The body of a request without one, as httpx makes it (immutable: one serves all requests).
_NO_CONTENT = httpx.ByteStream(b"")

# Public operations (login, signup, health, refresh) go without credentials: a stale access
# token must never make a login fail. Shared: read-only.
NO_CREDENTIALS = AuthSnapshot(-1, {}, False)


class BaseTransport(Outcomes):
    """Shared by both transports: setting up calls and building requests."""

    _sleep: Any  # how to wait before a retry: a function, or a coroutine function

    def __init__(
        self,
        config: ClientConfig,
        tokens: Optional[TokenStore],
        http_client: Union[httpx.Client, httpx.AsyncClient, None],
        *,
        handle: Optional[ClientHandle],
        max_in_flight: int,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        sleep: Any,
        rand: Callable[[], float],
    ) -> None:
        self.config = config
        # Only the transport that created the handle closes it; copies share it.
        self._owns_handle = handle is None
        if handle is None:
            # A caller's client ("bring your own") is never closed by us; else we make one.
            owned = http_client is None
            client = self._create_http_client(config) if http_client is None else http_client
            handle = ClientHandle(
                client,
                owned=owned,
                max_in_flight=max_in_flight,
                factory=functools.partial(self._create_http_client, config),
            )
        self.tokens = tokens if tokens is not None else TokenStore.from_config(config)
        self._handle = handle
        self._clock = clock
        self._wall_clock = wall_clock
        self._rand = rand
        self._sleep = sleep
        self._closed = False
        self._templates: Dict[int, CallTemplate] = {}
        self._header_cache: Dict[Tuple[Any, ...], Tuple[AuthSnapshot, httpx.Headers]] = {}
        self._header_cache_client: List[Any] = []
        # A subclass of an httpx client may build requests its own way (see _build_request).
        self._httpx_builds = type(handle.client).build_request is _HTTPX_BUILD_REQUEST
        self._netloc = httpx.URL(config.base_url).netloc  # what httpx sends as Host

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

    @staticmethod
    def _create_http_client(config: ClientConfig) -> Union[httpx.Client, httpx.AsyncClient]:
        raise NotImplementedError  # each transport makes its kind of client

    def _copy(
        self: _T, config: Optional[ClientConfig], tokens: Optional[TokenStore], changes: Dict[str, Any]
    ) -> _T:
        # A copy sharing the connection pool (see SyncTransport.copy).
        self._check_open()
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
        make: Any = type(self)
        return make(  # type: ignore[no-any-return]
            config,
            tokens,
            clock=self._clock,
            wall_clock=self._wall_clock,
            sleep=self._sleep,
            rand=self._rand,
            _handle=self._handle,
        )

    # -- setting up a call -----------------------------------------------------------------

    def _template(self, op: Operation) -> CallTemplate:
        templates = self._templates
        if len(templates) >= _TEMPLATE_CACHE_SIZE:  # only made-up operations (tests) get here
            templates.clear()
        template = templates[id(op)] = CallTemplate(op, self.config)
        return template

    def _new_call(
        self,
        prepared: PreparedRequest,
        *,
        idempotency_key: Optional[str],
        timeout: Optional[float],
        max_retries: Optional[int],
        headers: Optional[Mapping[str, str]],
        stream: bool,
        deadline: Optional[Deadline] = None,
    ) -> Call:
        op = prepared.operation
        t = self._templates.get(id(op))
        if t is None:
            t = self._template(op)
        if self._closed or self._handle.closed:
            self._check_open()
        call = Call()
        call.t = t
        path = call.path = prepared.path
        call.url = t.base_url + path
        call.params = prepared.params
        call.debug = logger.isEnabledFor(logging.DEBUG)
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
            call.deadline = Deadline(t.timeout, self._clock)
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
        call.deadline = deadline if deadline is not None else Deadline(call.timeout, self._clock)
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
        # _request_headers); a per-call value such as an Idempotency-Key opts out.
        if overrides is None:
            call.header_key = (t.accept, call.content_type, t.public)
        elif "idempotency-key" not in overrides:
            call.header_key = (t.accept, call.content_type, t.public, *overrides.multi_items())
        else:
            call.header_key = None

    def _refresh_call(self, parent: Call, path: str, body: Dict[str, Any], key: str) -> Call:
        # The refresh is part of the caller's call: it spends the same deadline and budget,
        # and goes without credentials (it is authenticated by the refresh token itself).
        return self._new_call(
            PreparedRequest(operation=REFRESH_OP, method="POST", path=path, json=body),
            idempotency_key=key,
            timeout=parent.timeout,
            max_retries=parent.max_retries,
            headers=None,
            stream=False,
            deadline=parent.deadline,
        )

    def _ready_credentials(self, call: Call) -> Optional[AuthSnapshot]:
        # The credentials for the next attempt; None when a proactive refresh comes first.
        # That is tried at most once per call: if it failed transiently, every retry of the
        # call would otherwise start another refresh (each with retries of its own).
        if call.t.public:
            return NO_CREDENTIALS
        tokens = self.tokens
        if call.proactive_tried or not tokens.needs_refresh():
            return tokens.snapshot()
        call.proactive_tried = True
        return None

    # -- building an attempt's request -----------------------------------------------------

    def _own_headers(self, call: Call, auth: AuthSnapshot) -> httpx.Headers:
        # The SDK's headers for one attempt, later entries winning: ours, the configured
        # defaults, the body's type, credentials, then the call's own (Idempotency-Key...).
        headers = httpx.Headers({"User-Agent": USER_AGENT, "Accept": call.t.accept})
        headers.update(self.config.default_headers)
        if call.content_type is not None:
            headers["Content-Type"] = call.content_type
        headers.update(auth.headers)
        if call.override_headers is not None:
            headers.update(call.override_headers)
        return headers

    def _request_headers(
        self, client: Union[httpx.Client, httpx.AsyncClient], call: Call, auth: AuthSnapshot
    ) -> httpx.Headers:
        # What `client.build_request(headers=ours)` would send: the client's headers
        # overlaid with ours. Merging costs more than the rest of the SDK's per-call work,
        # and nearly every call sends the same set, so merged results are cached, keyed by
        # the call's header inputs, each with the credentials snapshot it was merged with
        # (a new snapshot, after a refresh, replaces the entry); any change to the client's
        # own headers empties the cache. httpx.Request copies the Headers it is given, so a
        # cached object is never modified.
        headers = client.headers
        # The client's headers as httpx's public `.raw` list (a few pairs, compared at C
        # level): a change made in place (`client.headers["X"] = ...`) shows up here too.
        client_headers: List[Any] = headers.raw
        cache = self._header_cache
        if client_headers != self._header_cache_client:
            cache.clear()
            self._header_cache_client = client_headers
        key = call.header_key
        if key is not None:
            hit = cache.get(key)
            if hit is not None and hit[0] is auth:
                return hit[1]
        merged = httpx.Headers(headers)
        merged.update(self._own_headers(call, auth))
        if call.t.host_only and "host" not in merged:
            # What httpx.Request would add, in front (see _build_request); for a body it adds
            # its length at the end, so the headers come out the same either way.
            merged = httpx.Headers([(b"Host", self._netloc), *merged.raw])
        if key is not None:
            if len(cache) >= _HEADER_CACHE_SIZE:
                cache.clear()
            cache[key] = (auth, merged)
        return merged

    def _build_request(self, call: Call, auth: AuthSnapshot) -> httpx.Request:
        deadline = call.deadline
        timeout = call.timeout
        # (deadline.remaining() without its frame: attempt_timeout clamps a negative value.)
        per_attempt = attempt_timeout(timeout, deadline.expires_at - deadline.clock())
        # An open stream may legitimately stay quiet between events (keep-alives every
        # 15 s), so only connecting is bounded by the deadline; each read gets `timeout`.
        read = timeout if call.stream else per_attempt
        # A list of str pairs (httpx's own alias for it is an invariant list of wider pairs).
        params: Any = call.params or None
        client = self._handle.client
        if self._httpx_builds and not client.params and not client.cookies:
            # The client adds nothing to a request but its headers (our URL is absolute,
            # so its base_url does not apply; no default params, no cookies), so build the
            # request directly with the merged headers: what client.build_request would
            # make, for less than half its cost (the timeout extension is
            # httpx.Timeout(read, connect=, write=, pool=).as_dict()).
            t = call.t
            headers = self._request_headers(client, call, auth)
            timeouts = {
                "timeout": {"connect": per_attempt, "read": read, "write": per_attempt, "pool": per_attempt}
            }
            if call.content is None and t.host_only:
                # No body: httpx would encode "nothing" and rebuild the headers to put Host in
                # front (~1,000 bytecodes per request); the merged headers already have it, so
                # give it the empty body it would make, read as it would read it.
                request = httpx.Request(
                    t.method,
                    call.url,
                    params=params,
                    headers=headers,
                    stream=_NO_CONTENT,
                    extensions=timeouts,
                )
                request.read()
                return request
            return httpx.Request(
                t.method, call.url, params=params, headers=headers, content=call.content, extensions=timeouts
            )
        return client.build_request(
            call.t.method,
            call.url,
            params=params,
            headers=self._own_headers(call, auth),
            content=call.content,
            timeout=httpx.Timeout(read, connect=per_attempt, write=per_attempt, pool=per_attempt),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(config={self.config!r}, closed={self.is_closed})"

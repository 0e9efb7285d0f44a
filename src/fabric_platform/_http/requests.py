"""Each attempt's httpx.Request: the SDK's headers merged over the client's, and its timeouts.

What ``client.build_request`` would make, built directly when the client adds nothing but
its headers (the common case, for less than half the cost), with merged headers cached.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Tuple, Union

import httpx

from fabric_platform._auth import AuthSnapshot
from fabric_platform._config import ClientConfig
from fabric_platform._core.call import Call
from fabric_platform._core.retry import attempt_timeout
from fabric_platform._http.client_handle import ClientHandle
from fabric_platform._version import __version__

__all__ = ["USER_AGENT", "RequestBuilder"]

USER_AGENT = (
    f"fabric-platform-python/{__version__} "
    # sys rather than the platform module: same facts, without its import cost.
    f"(python {sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}; {sys.platform})"
)

# Merged request headers kept per builder (see RequestBuilder.build). A handful of entries
# in practice: one per (Accept, Content-Type, call headers, credentials) in use.
_HEADER_CACHE_SIZE = 64
# Both httpx clients inherit this; a subclass that overrides it gets its own build_request.
_HTTPX_BUILD_REQUEST = httpx.Client.build_request
# The body of a request without one, as httpx makes it (immutable: one serves all requests).
_NO_CONTENT = httpx.ByteStream(b"")


class RequestBuilder:
    """Builds the requests of one transport's calls (shared client, its own header cache)."""

    def __init__(self, config: ClientConfig, handle: ClientHandle[Any]) -> None:
        self.config = config
        self._handle = handle
        self._header_cache: Dict[Tuple[Any, ...], Tuple[AuthSnapshot, httpx.Headers]] = {}
        self._header_cache_client: List[Any] = []
        # A subclass of an httpx client may build requests its own way (see build).
        self._httpx_builds = type(handle.client).build_request is _HTTPX_BUILD_REQUEST
        self._netloc = httpx.URL(config.base_url).netloc  # what httpx sends as Host

    def own_headers(self, call: Call, auth: AuthSnapshot) -> httpx.Headers:
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

    def _merged_headers(
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
        merged.update(self.own_headers(call, auth))
        if call.t.host_only and "host" not in merged:
            # What httpx.Request would add, in front (see build); for a body it adds
            # its length at the end, so the headers come out the same either way.
            merged = httpx.Headers([(b"Host", self._netloc), *merged.raw])
        if key is not None:
            if len(cache) >= _HEADER_CACHE_SIZE:
                cache.clear()
            cache[key] = (auth, merged)
        return merged

    def build(self, call: Call, auth: AuthSnapshot) -> httpx.Request:
        deadline = call.deadline
        timeout = call.timeout
        # attempt_timeout clamps a negative value, so what is left is read off the deadline
        # directly (this runs every attempt: the "per-call client CPU" rows of BENCHMARKS.md).
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
            headers = self._merged_headers(client, call, auth)
            timeouts = {
                "timeout": {"connect": per_attempt, "read": read, "write": per_attempt, "pool": per_attempt}
            }
            if call.content is None and t.host_only:
                # No body: httpx would encode "nothing" and rebuild the headers to put Host in
                # front; the merged headers already have it, so give it the empty body it
                # would make, read as it would read it (the "per-call client CPU" rows of BENCHMARKS.md).
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
        built: httpx.Request = client.build_request(
            call.t.method,
            call.url,
            params=params,
            headers=self.own_headers(call, auth),
            content=call.content,
            timeout=httpx.Timeout(read, connect=per_attempt, write=per_attempt, pool=per_attempt),
        )
        return built

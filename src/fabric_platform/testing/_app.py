"""The ASGI application: routes plus the pipeline every request goes through.

Pipeline (outermost first), as one ASGI wrapper so each step sees the raw request:

1. request id (echo ``X-Request-Id`` or make one) and statistics per operation;
2. body limit: JSON bodies over ``max_json_body`` (1 MiB) and uploads over
   ``max_upload_body`` → 413 before the route runs;
3. rate limit per principal (token bucket, off by default) → 429 + ``Retry-After``;
4. faults: added latency, then ``fail_next`` rules — a plain rule answers the error without
   running the route; a ``commit`` rule runs it (side effect and idempotency record included)
   and then answers the error, which is what proves a client's idempotent retry;
5. ``Idempotency-Key`` on POST: replay / 409 / run-and-record;
6. the router, whose exception handlers turn everything into the error envelope.

``/_emulator/…`` control routes skip steps 3–5 and are not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._domain.auth import resolve
from ._infra.faults import code_for_status
from ._infra.http import ApiError, envelope_bytes, error_response, request_id_var
from ._infra.idempotency import StoredResponse, fingerprint
from ._state import Emulator

log = logging.getLogger("fabric_platform.testing")

_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,200}$")
# Replays of a token rotation's answer: one minute, not the usual day (see _idempotency).
TOKEN_REPLAY_SECONDS = 60.0
_TOKEN_ROTATIONS = frozenset({"/v1/auth/token/refresh", "/v1/oauth/token"})
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def create_app(emulator: Emulator) -> ASGIApp:
    from ._routes import all_routes, startup_hooks

    emulator.startup_hooks.extend(startup_hooks())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await emulator.startup()
        try:
            yield
        finally:
            await emulator.shutdown()

    app = Starlette(
        routes=all_routes(),
        exception_handlers={
            ApiError: _api_error_handler,
            HTTPException: _http_exception_handler,
            Exception: _unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    return Pipeline(app, emulator)


async def _api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, code_for_status(exc.status_code))
    message = {404: "No such endpoint.", 405: "Method not allowed on this endpoint."}.get(
        exc.status_code, str(exc.detail)
    )
    return error_response(ApiError(exc.status_code, code, message, headers=dict(exc.headers or {})))


async def _unexpected_error_handler(request: Request, exc: Exception) -> Response:
    log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(ApiError(500, "internal_error", f"Internal error: {type(exc).__name__}"))


def _is_json(headers: Dict[str, str]) -> bool:
    content_type = headers.get("content-type", "").lower()
    return not content_type or "json" in content_type or content_type.startswith("text/")


class _ResponseCapture:
    """Records what the app sends (status, headers, body) and optionally forwards it."""

    def __init__(self, send: Optional[Send]) -> None:
        self._send = send
        self.status = 0
        self.headers: List[Tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))
        if self._send is not None:
            await self._send(message)

    def stored(self) -> StoredResponse:
        keep = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in self.headers
            if k.lower() not in (b"content-length", b"x-request-id")
        ]
        return StoredResponse(self.status, keep, bytes(self.body))


class Pipeline:
    def __init__(self, app: Starlette, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator
        self.routes: List[BaseRoute] = list(app.routes)

    # Starlette's TestClient and uvicorn's lifespan need the wrapped app's state.
    @property
    def state(self) -> Any:
        return self.app.state

    def template_for(self, scope: Scope) -> Optional[str]:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return getattr(route, "path", None)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else f"req_{uuid.uuid4().hex}"
        token = request_id_var.set(request_id)
        send = _with_request_id(send, request_id)
        try:
            await self._handle(scope, receive, send, headers, request_id)
        finally:
            request_id_var.reset(token)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, headers: Dict[str, str], request_id: str
    ) -> None:
        emulator = self.emulator
        method = scope["method"].upper()
        path = scope["path"]
        template = self.template_for(scope)
        control = path.startswith("/_emulator")
        if not control:
            emulator.stats.count(f"{method} {template or path}")

        # -- body limit; the body is read once here and replayed to the route
        body = b""
        if method not in ("GET", "HEAD", "OPTIONS", "DELETE") or headers.get("content-length"):
            limit = emulator.config.max_json_body if _is_json(headers) else emulator.config.max_upload_body
            try:
                declared = int(headers.get("content-length", "0") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                await self._error(send, ApiError(413, "payload_too_large", _too_large(limit)))
                return
            chunks = bytearray()
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.extend(message.get("body", b""))
                if len(chunks) > limit:
                    await self._error(send, ApiError(413, "payload_too_large", _too_large(limit)))
                    return
                more = message.get("more_body", False)
            body = bytes(chunks)
        receive = _replay(body, receive)

        # -- principal, resolved once; routes reuse it through scope state
        auth = resolve(emulator, headers)
        scope.setdefault("state", {})["fabric_auth"] = auth
        principal = auth[0]

        commit_failure = None
        if not control:
            bucket = principal.id if principal is not None else f"ip:{(scope.get('client') or ('?',))[0]}"
            retry_after = emulator.ratelimit.take(bucket)
            if retry_after is not None:
                await self._error(
                    send,
                    ApiError(
                        429,
                        "rate_limited",
                        "Too many requests; slow down.",
                        headers={"Retry-After": str(retry_after)},
                    ),
                )
                return
            delay = emulator.faults.latency_for(method, path, template)
            if delay > 0:
                await asyncio.sleep(delay)
            failure = emulator.faults.take_failure(method, path, template)
            if failure is not None:
                if not failure.commit:
                    await self._error(send, _injected(failure.status, failure.retry_after, committed=False))
                    return
                commit_failure = failure

        inner_send: Send = send
        capture = None
        if commit_failure is not None:
            capture = _ResponseCapture(None)
            inner_send = capture

        if not control:
            # Audit log + app request counting: sees the route's real answer.
            from ._domain.audit import observe

            inner_send = observe(emulator, scope, method, body, principal, inner_send)

        idempotency_key = headers.get("idempotency-key")
        if method == "POST" and idempotency_key is not None and not control:
            await self._idempotent(scope, receive, inner_send, principal, idempotency_key, body)
        else:
            await self._call_app(scope, receive, inner_send)

        if commit_failure is not None:
            assert capture is not None
            if capture.started and capture.status < 300:
                await self._error(
                    send, _injected(commit_failure.status, commit_failure.retry_after, committed=True)
                )
            else:
                # The route itself failed: there is no side effect to hide, pass its answer on.
                await _send_stored(send, capture.stored())

    async def _idempotent(
        self, scope: Scope, receive: Receive, send: Send, principal: Any, key: str, body: bytes
    ) -> None:
        if not 1 <= len(key) <= 255:
            await self._error(
                send, ApiError(400, "validation_error", "Idempotency-Key must be 1-255 characters.")
            )
            return
        keys = self.emulator.idempotency
        owner = principal.id if principal is not None else "anonymous"
        record_id = keys.record_id(owner, key)
        fp = fingerprint(
            scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"), body
        )
        await keys.wait_if_in_flight(record_id)
        outcome, stored = keys.lookup(record_id, fp)
        if outcome == "replay":
            assert stored is not None
            await _send_stored(send, stored, replayed=True)
            return
        if outcome == "conflict":
            await self._error(
                send,
                ApiError(
                    409,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used with a different request.",
                ),
            )
            return
        keys.begin(record_id)
        capture = _ResponseCapture(send)
        try:
            await self._call_app(scope, receive, capture)
        finally:
            ttl = TOKEN_REPLAY_SECONDS if scope["path"] in _TOKEN_ROTATIONS else None
            keys.finish(record_id, fp, capture.stored() if capture.started else None, ttl=ttl)

    async def _call_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            from ._infra.events import _contains_drop

            if _contains_drop(exc):
                raise
            # Starlette re-raises after its 500 handler ran; the response is out already.
            if not started:
                log.error("unhandled error", exc_info=exc)
                await self._error(tracking_send, ApiError(500, "internal_error", "Internal error."))

    async def _error(self, send: Send, err: ApiError) -> None:
        body = envelope_bytes(
            None, status=err.status, error={"code": err.code, "message": err.message, "details": err.details}
        )
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in err.headers.items()]
        await send({"type": "http.response.start", "status": err.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _too_large(limit: int) -> str:
    return f"The request body is larger than the {limit} bytes this endpoint accepts."


def _injected(status: int, retry_after: Optional[float], *, committed: bool) -> ApiError:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = (
            str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        )
    message = "Injected fault" + (" after the request was processed." if committed else ".")
    return ApiError(
        status,
        code_for_status(status),
        message,
        details={"injected": True, "committed": committed},
        headers=headers,
    )


def _with_request_id(send: Send, request_id: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
            headers.append((b"x-request-id", request_id.encode("latin-1")))
            message = dict(message, headers=headers)
        await send(message)

    return wrapped


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_stored(send: Send, stored: StoredResponse, *, replayed: bool = False) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    headers.append((b"content-length", str(len(stored.body)).encode()))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})

"""What follows an attempt: retry, refresh or raise after a failure; the result after a 2xx.

The decisions of the pipeline, shared by the sync and the async transport (each holds an
:class:`Outcomes`): no I/O here, only the rules of ``retry``, ``envelope`` and the token
store applied to one call, and the pipeline's DEBUG/INFO log lines.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Mapping, Optional, Set

import httpx

from fabric_platform._auth import AuthSnapshot, TokenStore
from fabric_platform._core import log
from fabric_platform._core.api_response import ApiResponse
from fabric_platform._core.call import Call, Step
from fabric_platform._core.envelope import build_api_error, parse_success
from fabric_platform._core.log import logger
from fabric_platform._core.retry import DeadlineExceeded, RetryPolicy
from fabric_platform.errors import (
    FabricConnectionError,
    FabricError,
    FabricResponseError,
    FabricTimeoutError,
)

__all__ = ["Outcomes"]

_LOG_BODY_LIMIT = 2000


class Outcomes:
    """The decisions after each attempt of one transport's calls.

    Args:
        tokens: The credential store (a 401 ``token_expired`` may call for a refresh).
        clock: The monotonic clock of the calls' deadlines (for log durations).
        wall_clock: The wall clock, for HTTP-date ``Retry-After`` and ``reset_at``.
        policy: When to retry and how long to wait first.
    """

    def __init__(
        self,
        tokens: TokenStore,
        *,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        policy: RetryPolicy,
    ) -> None:
        self.tokens = tokens
        self._clock = clock
        self._wall_clock = wall_clock
        self.policy = policy

    def _attempt_secrets(self, call: Call, auth: AuthSnapshot) -> Set[str]:
        if not auth.headers:
            return call.secrets
        return call.secrets | log.collect_secrets(headers=auth.headers, body=None, params=())

    def after_response(self, call: Call, response: httpx.Response, auth: AuthSnapshot) -> Step:
        method = call.t.method
        error = build_api_error(
            response,
            method=method,
            path=call.path,
            secrets=self._attempt_secrets(call, auth),
            now=self._wall_clock(),
        )
        if call.debug:
            self.log_response(call, response, error.request_id)
        if (
            response.status_code == 401
            and error.code == "token_expired"
            and auth.uses_session
            and not call.auth_replayed
            and call.replayable
            # Nothing to refresh with (and nobody refreshed meanwhile): the 401 stands.
            and (self.tokens.refresh_token is not None or self.tokens.generation != auth.generation)
        ):
            return Step("refresh", 0.0, error)
        hint = self.policy.retry_after(response.headers.get("retry-after"), self._wall_clock())
        decision = self.policy.decide(
            method=method,
            outcome=response.status_code,
            has_idempotency_key=call.idempotency_key is not None,
            retries_taken=call.retries_taken,
            max_retries=call.max_retries,
            remaining=call.deadline.remaining(),
            retry_after=hint,
            replayable_body=call.replayable,
        )
        if not decision.retry:
            if decision.reason in ("deadline", "exhausted"):
                logger.debug(
                    "giving up on %s %s after %d retries (%s)",
                    method,
                    call.path,
                    call.retries_taken,
                    decision.reason,
                )
            return Step("raise", 0.0, error)
        logger.info(
            "retrying %s %s in %.2fs (retry %d of %d) after %d %s, request_id=%s",
            method,
            call.path,
            decision.delay,
            call.retries_taken + 1,
            call.max_retries,
            response.status_code,
            error.code,
            error.request_id,
        )
        return Step("retry", decision.delay, error)

    def after_exception(self, call: Call, exc: BaseException, auth: AuthSnapshot) -> Step:
        method = call.t.method
        error = self._map_exception(call, exc, auth)
        if call.debug:
            logger.debug(
                "no response: %s %s failed after %.1fms: %s",
                method,
                call.path,
                (self._clock() - call.attempt_started) * 1000.0,
                error,  # already scrubbed of the request's secrets
            )
        decision = self.policy.decide(
            method=method,
            outcome=exc,
            has_idempotency_key=call.idempotency_key is not None,
            retries_taken=call.retries_taken,
            max_retries=call.max_retries,
            remaining=call.deadline.remaining(),
            replayable_body=call.replayable,
        )
        if not decision.retry:
            return Step("raise", 0.0, error)
        logger.info(
            "retrying %s %s in %.2fs (retry %d of %d) after %s",
            method,
            call.path,
            decision.delay,
            call.retries_taken + 1,
            call.max_retries,
            type(exc).__name__,
        )
        return Step("retry", decision.delay, error)

    def _map_exception(self, call: Call, exc: BaseException, auth: AuthSnapshot) -> FabricError:
        where = f"{call.t.method} {call.path}"
        spent = f"after {call.deadline.elapsed():.2f}s and {call.retries_taken} retries"
        error: FabricError
        if isinstance(exc, DeadlineExceeded):
            error = FabricTimeoutError(
                f"{where} exceeded its {call.timeout:g}s deadline while reading the response ({spent})"
            )
        elif isinstance(exc, httpx.TimeoutException):
            error = FabricTimeoutError(
                f"{where} timed out ({type(exc).__name__}, timeout={call.timeout:g}s, {spent})"
            )
        else:
            detail = log.scrub(str(exc) or type(exc).__name__, self._attempt_secrets(call, auth))
            error = FabricConnectionError(f"{where} failed: {type(exc).__name__}: {detail} ({spent})")
        error.__cause__ = exc
        return error

    def finish(self, call: Call, response: httpx.Response) -> ApiResponse:
        # A 2xx whose body was read: the call's result.
        t = call.t
        if t.raw_body:
            data: Any = response.content
            meta: Dict[str, Any] = {}
            request_id = response.headers.get("x-request-id")
            if call.debug:
                self.log_response(call, response, request_id)
        else:
            try:
                data, meta, request_id = parse_success(response, method=t.method, path=call.path)
            except FabricResponseError:
                if call.debug:
                    self.log_response(call, response, response.headers.get("x-request-id"))
                raise
            if call.debug:
                self.log_response(call, response, request_id)
            if t.validate:
                from fabric_platform._core.validation import validate_data

                validate_data(
                    data,
                    schema=t.data_schema or "",
                    is_list=t.data_is_list,
                    operation_id=t.operation_id,
                    response=response,
                    request_id=request_id,
                )
            if t.tokens_effect is not None:
                self._apply_token_effect(call, data, response)
        deadline = call.deadline
        return ApiResponse(
            data,
            response.status_code,
            response.headers,
            request_id,
            call.retries_taken,
            deadline.clock() - deadline.started_at,
            response,
            meta,
            call.idempotency_key,
        )

    def _apply_token_effect(self, call: Call, data: Any, response: httpx.Response) -> None:
        effect = call.t.tokens_effect
        if effect == "store":
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
                    call.t.operation_id,
                    response.headers.get("x-request-id"),
                )
        elif effect == "clear":
            self.tokens.clear()

    # -- DEBUG log lines (only called when call.debug) -------------------------------------

    def log_request(self, call: Call, request: httpx.Request) -> None:
        query = "&".join(f"{k}={v}" for k, v in log.redact_query(call.params))
        body = call.log_body
        if body is not None and not isinstance(body, str):
            body = json.dumps(log.redact_body(body), default=str, ensure_ascii=False)
            if len(body) > _LOG_BODY_LIMIT:
                body = body[:_LOG_BODY_LIMIT] + "…"
        logger.debug(
            "request: %s %s%s attempt=%d headers=%s body=%s",
            call.t.method,
            call.path,
            f"?{query}" if query else "",
            call.retries_taken + 1,
            dict(log.redact_headers(request.headers.items())),
            body,
        )

    def log_response(self, call: Call, response: httpx.Response, request_id: Optional[str]) -> None:
        # Logged once the request id is known (it may only be in the envelope's meta).
        logger.debug(
            "response: %s %s -> %d request_id=%s in %.1fms (retries=%d)",
            call.t.method,
            call.path,
            response.status_code,
            request_id,
            (self._clock() - call.attempt_started) * 1000.0,
            call.retries_taken,
        )

"""The send pipeline against httpx MockTransports: idempotency keys, envelope parsing, every
error class, retries and the deadline (on a fake clock), token effects and refresh, strict
validation, lifecycle of the connection pool, streams, and the async twin."""

from __future__ import annotations

import asyncio
import gc
import http.server
import json
import re
import threading
import uuid
import warnings
from typing import Any, Dict, Iterator, List, Optional, Tuple, Type

import httpx
import pytest
from pipeline_support import (
    API_KEY,
    BASE,
    FakeClock,
    Script,
    SlowStream,
    config,
    envelope,
    error,
    make_op,
    prepare,
    tokens_data,
)

from fabric_platform._async.transport import AsyncTransport
from fabric_platform._auth import TokenStore, refresh_idempotency_key
from fabric_platform._http.requests import USER_AGENT
from fabric_platform._sync import transport as sync_transport
from fabric_platform._sync.transport import SyncTransport
from fabric_platform._version import __version__
from fabric_platform.errors import (
    FabricAPIError,
    FabricAuthError,
    FabricConflictError,
    FabricConnectionError,
    FabricForbiddenError,
    FabricNotFoundError,
    FabricRateLimitError,
    FabricResponseError,
    FabricResponseValidationError,
    FabricServerError,
    FabricTimeoutError,
    FabricValidationError,
)

GET = make_op("GET", "/v1/things/1", operation_id="getThing")
POST = make_op("POST", "/v1/things", operation_id="createThing")
PATCH = make_op("PATCH", "/v1/things/1", operation_id="updateThing")
LOGIN = make_op("POST", "/v1/auth/login", operation_id="login", public=True, tokens="store")
LOGOUT = make_op("POST", "/v1/auth/logout", operation_id="logout", tokens="clear")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Env:
    """A sync transport on a MockTransport with a fake clock."""

    def __init__(self, script: Script, *, tokens: Optional[TokenStore] = None, **cfg: Any) -> None:
        self.script = script
        self.clock = FakeClock()
        self.http = httpx.Client(transport=httpx.MockTransport(script))
        self.config = config(**cfg)
        self.tokens = tokens or TokenStore(self.config, clock=self.clock)
        self.transport = SyncTransport(
            self.config,
            self.tokens,
            http_client=self.http,
            clock=self.clock,
            sleep=self.clock.sleep,
            rand=lambda: 0.5,
            wall_clock=lambda: 1_800_000_000.0,
        )

    def close(self) -> None:
        self.transport.close()
        self.http.close()


@pytest.fixture
def make_env() -> Iterator[Any]:
    envs: List[Env] = []

    def make(*steps: Any, **kw: Any) -> Env:
        env = Env(Script(*steps), **kw)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()


# -- success path ------------------------------------------------------------------------------


def test_envelope_data_and_raw_response_fields(make_env: Any) -> None:
    env = make_env(envelope({"id": "t1"}, request_id="req_abc", meta={"total": 9}))
    res = env.transport.request(prepare(GET))
    assert res.data == {"id": "t1"}
    assert res.status_code == 200
    assert res.request_id == "req_abc"
    assert res.retries_taken == 0
    assert res.meta["total"] == 9
    assert res.http_response.status_code == 200 and res.headers is res.http_response.headers
    assert res.elapsed == 0.0  # fake clock did not move
    assert res.idempotency_key is None
    sent = env.script.requests[0]
    assert str(sent.url) == f"{BASE}/v1/things/1"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert "Idempotency-Key" not in sent.headers


def test_headers_user_agent_defaults_and_query(make_env: Any) -> None:
    env = make_env(envelope([]), default_headers={"X-Team": "blue"})
    env.transport.request(prepare(GET, params=[("limit", "5"), ("tag", "a"), ("tag", "b")]))
    sent = env.script.requests[0]
    assert sent.headers["User-Agent"] == USER_AGENT
    assert re.fullmatch(
        rf"fabric-platform-python/{re.escape(__version__)} \(python \d+\.\d+\.\d+\S*; [a-z0-9_.-]+\)",
        USER_AGENT,
    )
    assert sent.headers["X-Team"] == "blue"
    assert sent.headers["Accept"] == "application/json"
    assert sent.url.params.multi_items() == [("limit", "5"), ("tag", "a"), ("tag", "b")]


def test_json_body_is_compact_and_encodes_common_types(make_env: Any) -> None:
    import datetime

    env = make_env(envelope(None))
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    env.transport.request(
        prepare(POST, body={"id": uid, "at": datetime.date(2026, 1, 2), "name": "é", "n": [1, 2]})
    )
    sent = env.script.requests[0]
    assert sent.headers["Content-Type"] == "application/json"
    assert (
        sent.content
        == '{"id":"12345678-1234-5678-1234-567812345678","at":"2026-01-02","name":"é","n":[1,2]}'.encode()
    )


def test_nan_in_body_is_rejected_before_sending(make_env: Any) -> None:
    env = make_env()
    with pytest.raises(ValueError):
        env.transport.request(prepare(POST, body={"x": float("nan")}))
    assert env.script.requests == []


def test_204_without_body_is_none(make_env: Any) -> None:
    env = make_env(httpx.Response(204))
    assert env.transport.request(prepare(make_op("DELETE", "/v1/things/1"))).data is None


def test_bytes_response_returns_raw_bytes(make_env: Any) -> None:
    blob = b"\x89PNG\r\n\x00\xff" * 10
    env = make_env(httpx.Response(200, content=blob, headers={"X-Request-Id": "req_dl"}))
    res = env.transport.request(prepare(make_op("GET", "/v1/assets/a1", response="bytes")))
    assert res.data == blob and res.request_id == "req_dl"
    assert env.script.requests[0].headers["Accept"] == "*/*"


def test_bytes_upload_content_type(make_env: Any) -> None:
    op = make_op("POST", "/v1/assets")
    env = make_env(envelope({"id": "a"}), envelope({"id": "b"}))
    env.transport.request(prepare(op, content=b"raw"))
    env.transport.request(prepare(op, content=b"raw", headers={"Content-Type": "image/png"}))
    assert env.script.requests[0].headers["Content-Type"] == "application/octet-stream"
    assert env.script.requests[1].headers["Content-Type"] == "image/png"
    assert env.script.requests[1].content == b"raw"


# -- idempotency keys ----------------------------------------------------------------------------


def test_idempotency_key_created_once_and_reused_across_attempts(make_env: Any) -> None:
    env = make_env(error(503, "unavailable"), error(500, "internal_error"), envelope({"id": "j1"}, 201))
    res = env.transport.request(prepare(POST, body={"modality": "text"}))
    keys = [r.headers["Idempotency-Key"] for r in env.script.requests]
    assert len(keys) == 3 and len(set(keys)) == 1 and UUID4.match(keys[0])
    assert res.idempotency_key == keys[0]
    assert res.retries_taken == 2
    # identical bytes on every attempt (the server compares bodies for a reused key)
    assert len({r.content for r in env.script.requests}) == 1


def test_each_logical_call_gets_its_own_key(make_env: Any) -> None:
    env = make_env(envelope(1), envelope(2))
    env.transport.request(prepare(POST))
    env.transport.request(prepare(POST))
    k1, k2 = (r.headers["Idempotency-Key"] for r in env.script.requests)
    assert k1 != k2


def test_callers_key_is_honoured_on_every_attempt(make_env: Any) -> None:
    env = make_env(error(502, "bad_gateway"), envelope({"id": "j"}))
    env.transport.request(prepare(POST), idempotency_key="unique-key-123")
    assert [r.headers["Idempotency-Key"] for r in env.script.requests] == ["unique-key-123"] * 2


def test_key_from_operation_header_is_honoured(make_env: Any) -> None:
    env = make_env(envelope({}))
    env.transport.request(prepare(POST, headers={"Idempotency-Key": "from-args"}))
    assert env.script.requests[0].headers["Idempotency-Key"] == "from-args"


def test_patch_and_put_carry_keys_get_does_not(make_env: Any) -> None:
    env = make_env(envelope({}), envelope({}), envelope({}))
    env.transport.request(prepare(PATCH))
    env.transport.request(prepare(make_op("PUT", "/v1/budget")))
    env.transport.request(prepare(GET))
    assert "Idempotency-Key" in env.script.requests[0].headers
    assert "Idempotency-Key" in env.script.requests[1].headers
    assert "Idempotency-Key" not in env.script.requests[2].headers


def test_one_shot_stream_body_is_not_retried(make_env: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"part"

    env = make_env(error(503, "unavailable"))
    with pytest.raises(FabricServerError):
        env.transport.request(prepare(make_op("POST", "/v1/assets"), content=chunks()))
    assert len(env.script.requests) == 1 and env.clock.sleeps == []


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "validation_error", FabricValidationError),
        (400, "invalid_request", FabricValidationError),
        (422, "validation_error", FabricValidationError),
        (401, "unauthorized", FabricAuthError),
        (403, "forbidden", FabricForbiddenError),
        (404, "not_found", FabricNotFoundError),
        (409, "conflict", FabricConflictError),
        (409, "idempotency_key_reused", FabricConflictError),
        (429, "rate_limited", FabricRateLimitError),
        (500, "internal_error", FabricServerError),
        (503, "unavailable", FabricServerError),
        (405, "method_not_allowed", FabricAPIError),
    ],
)
def test_envelope_errors_map_to_classes(
    make_env: Any, status: int, code: str, cls: Type[FabricAPIError]
) -> None:
    details = {"errors": [{"path": "topic", "message": "42 is not of type 'string'"}]}
    env = make_env(error(status, code, "server says no", details=details, request_id="req_e1"))
    with pytest.raises(cls) as info:
        env.transport.request(prepare(GET), max_retries=0)
    e = info.value
    assert type(e) is cls
    assert (e.status_code, e.code, e.message, e.request_id, e.details) == (
        status,
        code,
        "server says no",
        "req_e1",
        details,
    )
    assert e.response is not None and e.response.json()["error"]["code"] == code
    text = str(e)
    for part in ("GET", "/v1/things/1", str(status), code, "server says no", "req_e1"):
        assert part in text


def test_proxy_html_502_maps_by_status(make_env: Any) -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1>Authorization: Bearer leaked</body></html>"
    env = make_env(httpx.Response(502, content=html, headers={"Content-Type": "text/html"}))
    with pytest.raises(FabricServerError) as info:
        env.transport.request(prepare(GET), max_retries=0)
    e = info.value
    assert e.status_code == 502 and e.code == "bad_gateway"
    assert "text/html" in e.message and "Bad Gateway" in e.message
    assert "leaked" not in str(e)  # the body itself is never quoted
    assert e.response is not None and e.response.content == html


@pytest.mark.parametrize(
    ("status", "cls", "code"),
    [
        (503, FabricServerError, "unavailable"),
        (401, FabricAuthError, "unauthorized"),
        (404, FabricNotFoundError, "not_found"),
        (429, FabricRateLimitError, "rate_limited"),
    ],
)
def test_empty_error_body_maps_by_status(
    make_env: Any, status: int, cls: Type[FabricAPIError], code: str
) -> None:
    env = make_env(httpx.Response(status, headers={"X-Request-Id": "req_hdr"}))
    with pytest.raises(cls) as info:
        env.transport.request(prepare(GET), max_retries=0)
    assert info.value.code == code and info.value.request_id == "req_hdr"
    assert "empty body" in info.value.message


def test_non_json_2xx_is_a_response_error(make_env: Any) -> None:
    env = make_env(httpx.Response(200, content=b"<html>ok</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(FabricResponseError) as info:
        env.transport.request(prepare(GET))
    assert not isinstance(info.value, (KeyError, json.JSONDecodeError))
    assert "GET /v1/things/1" in str(info.value) and "text/html" in str(info.value)


@pytest.mark.parametrize("body", [{"id": "not-an-envelope"}, [1, 2], "str", None])
def test_2xx_json_without_envelope_is_a_response_error(make_env: Any, body: Any) -> None:
    env = make_env(httpx.Response(200, json=body))
    with pytest.raises(FabricResponseError):
        env.transport.request(prepare(GET))


def test_empty_200_is_a_response_error(make_env: Any) -> None:
    env = make_env(httpx.Response(200))
    with pytest.raises(FabricResponseError, match="empty body"):
        env.transport.request(prepare(GET))


def test_connection_error_maps_and_is_retried(make_env: Any) -> None:
    env = make_env(*[httpx.ConnectError("[Errno 111] Connection refused")] * 3)
    with pytest.raises(FabricConnectionError) as info:
        env.transport.request(prepare(POST))
    assert not isinstance(info.value, FabricTimeoutError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert "Connection refused" in str(info.value) and "2 retries" in str(info.value)
    assert len(env.script.requests) == 3 and env.clock.sleeps == [0.5, 1.0]


def test_read_timeout_is_a_timeout_error_and_builtin_timeout(make_env: Any) -> None:
    env = make_env(httpx.ReadTimeout("read"), httpx.ReadTimeout("read"), httpx.ReadTimeout("read"))
    with pytest.raises(TimeoutError) as info:
        env.transport.request(prepare(GET))
    assert isinstance(info.value, FabricTimeoutError) and isinstance(info.value, FabricConnectionError)
    assert len(env.script.requests) == 3


def test_connect_error_then_success(make_env: Any) -> None:
    env = make_env(httpx.ConnectError("refused"), envelope({"ok": True}))
    res = env.transport.request(prepare(GET))
    assert res.data == {"ok": True} and res.retries_taken == 1


# -- retries and the deadline -------------------------------------------------------------------


def test_retries_exhausted_raise_the_last_error(make_env: Any) -> None:
    env = make_env(
        error(503, "unavailable", request_id="r1"),
        error(502, "bad_gateway", request_id="r2"),
        error(504, "gateway_timeout", request_id="r3"),
    )
    with pytest.raises(FabricServerError) as info:
        env.transport.request(prepare(GET))
    assert info.value.request_id == "r3" and info.value.status_code == 504
    assert env.clock.sleeps == [0.5, 1.0]


def test_per_call_max_retries(make_env: Any) -> None:
    env = make_env(*[error(503, "unavailable")] * 6)
    with pytest.raises(FabricServerError):
        env.transport.request(prepare(GET), max_retries=5)
    assert len(env.script.requests) == 6
    assert env.clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_non_retryable_status_is_not_retried(make_env: Any) -> None:
    env = make_env(error(409, "conflict"))
    with pytest.raises(FabricConflictError):
        env.transport.request(prepare(POST))
    assert len(env.script.requests) == 1 and env.clock.sleeps == []


def test_retry_after_seconds_is_waited_exactly(make_env: Any) -> None:
    env = make_env(error(429, "rate_limited", headers={"Retry-After": "3"}), envelope("ok"))
    res = env.transport.request(prepare(POST))
    assert res.data == "ok" and res.retries_taken == 1
    assert env.clock.sleeps == [3.0]


def test_retry_after_http_date(make_env: Any) -> None:
    import email.utils

    date = email.utils.formatdate(1_800_000_000.0 + 4, usegmt=True)
    env = make_env(error(503, "unavailable", headers={"Retry-After": date}), envelope("ok"))
    env.transport.request(prepare(GET))
    assert env.clock.sleeps == [4.0]


def test_garbage_retry_after_falls_back_to_backoff(make_env: Any) -> None:
    env = make_env(error(429, "rate_limited", headers={"Retry-After": "whenever"}), envelope("ok"))
    env.transport.request(prepare(GET))
    assert env.clock.sleeps == [0.5]


def test_retry_after_beyond_deadline_raises_the_429_at_once(make_env: Any) -> None:
    env = make_env(error(429, "rate_limited", headers={"Retry-After": "45"}))
    with pytest.raises(FabricRateLimitError) as info:
        env.transport.request(prepare(GET), timeout=30)
    assert info.value.retry_after == 45.0
    assert len(env.script.requests) == 1 and env.clock.sleeps == []


def test_huge_retry_after_is_capped_and_reported_raw(make_env: Any) -> None:
    env = make_env(*[error(429, "rate_limited", headers={"Retry-After": "86400"})] * 2)
    with pytest.raises(FabricRateLimitError) as info:
        env.transport.request(prepare(GET), timeout=300, max_retries=1)
    assert env.clock.sleeps == [60.0]  # a day-long hint waits at most the cap
    assert info.value.retry_after == 86400.0  # while the error reports the server's own hint


def test_deadline_bounds_attempts_and_waits(make_env: Any) -> None:
    # Every attempt takes 12 s on the fake clock and fails with 503.
    def slow_503(request: httpx.Request) -> httpx.Response:
        env.clock.advance(12.0)
        return error(503, "unavailable")

    env = make_env(slow_503, slow_503, slow_503, slow_503)
    start = env.clock.now
    with pytest.raises(FabricServerError):
        env.transport.request(prepare(GET), timeout=30, max_retries=10)
    # attempt 12 s, wait 0.5, attempt 12 s, wait 1, attempt (cut by its timeout)
    assert len(env.script.requests) == 3
    assert env.clock.now - start <= 30.0 + 12.0  # the last attempt was started within the deadline
    timeouts = [r.extensions["timeout"]["read"] for r in env.script.requests]
    assert timeouts[0] == 30.0
    assert timeouts[1] == pytest.approx(30 - 12 - 0.5)
    assert timeouts[2] == pytest.approx(30 - 12 - 0.5 - 12 - 1.0)


def test_no_time_left_for_the_backoff_raises(make_env: Any) -> None:
    def slow_503(request: httpx.Request) -> httpx.Response:
        env.clock.advance(29.8)
        return error(503, "unavailable")

    env = make_env(slow_503)
    with pytest.raises(FabricServerError):
        env.transport.request(prepare(GET), timeout=30)
    assert env.clock.sleeps == []


def test_trickling_body_is_cut_at_the_deadline(make_env: Any) -> None:
    def trickle(request: httpx.Request) -> httpx.Response:
        body = json.dumps({"data": "x" * 100, "meta": {}, "error": None}).encode()
        chunks = [body[i : i + 10] for i in range(0, len(body), 10)]
        return httpx.Response(200, stream=SlowStream(chunks, env.clock, per_chunk=5.0))

    env = make_env(trickle)
    with pytest.raises(FabricTimeoutError, match="deadline"):
        env.transport.request(prepare(GET), timeout=30)
    assert len(env.script.requests) == 1  # no time left to retry


def test_body_completing_exactly_at_deadline_is_accepted(make_env: Any) -> None:
    body = json.dumps({"data": 1, "meta": {}, "error": None}).encode()

    def slow_complete(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            stream=SlowStream([body], env.clock, per_chunk=31.0),
            headers={"Content-Length": str(len(body))},
        )

    env = make_env(slow_complete)
    assert env.transport.request(prepare(GET), timeout=30).data == 1


def test_invalid_options(make_env: Any) -> None:
    env = make_env()
    with pytest.raises(ValueError):
        env.transport.request(prepare(GET), timeout=0)
    with pytest.raises(ValueError):
        env.transport.request(prepare(GET), max_retries=-1)


# -- tokens ---------------------------------------------------------------------------------------


def test_store_tokens_then_use_them_then_clear(make_env: Any) -> None:
    seen: List[Dict[str, Any]] = []
    env = make_env(
        envelope(tokens_data("acc-1", "ref-1")),
        envelope({"me": 1}),
        envelope(None),
        envelope({"me": 2}),
        on_tokens=seen.append,
    )
    env.transport.request(prepare(LOGIN, body={"email": "a@b.c", "password": "pw-123456"}))
    assert "Authorization" not in env.script.requests[0].headers  # public: no credentials
    assert seen == [tokens_data("acc-1", "ref-1")]
    env.transport.request(prepare(GET))
    assert env.script.requests[1].headers["Authorization"] == "Bearer acc-1"
    env.transport.request(prepare(LOGOUT))
    assert env.script.requests[2].headers["Authorization"] == "Bearer acc-1"
    assert not env.tokens.has_session
    env.transport.request(prepare(GET))
    assert env.script.requests[3].headers["Authorization"] == f"Bearer {API_KEY}"


def test_store_without_access_token_keeps_session_and_warns(
    make_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    login_op = make_op(
        "POST", "/v1/auth/login", operation_id="login", public=True, tokens="store", data_schema="AuthTokens"
    )
    env = make_env(envelope({"nope": True}), envelope({"nope": True}))
    env.tokens.store(tokens_data("acc-0", "ref-0"), notify=False)
    assert env.transport.request(prepare(login_op)).data == {"nope": True}
    assert env.tokens.access_token == "acc-0"
    assert "returned no access_token" in caplog.text
    strict = env.transport.copy(strict=True)
    with pytest.raises(FabricResponseValidationError, match="access_token"):
        strict.request(prepare(login_op))
    assert env.tokens.access_token == "acc-0"


def test_principal_id_header(make_env: Any) -> None:
    env = make_env(envelope({}), api_key=None, principal_id="11111111-2222-3333-4444-555555555555")
    env.transport.request(prepare(GET))
    sent = env.script.requests[0]
    assert sent.headers["X-Principal-Id"] == "11111111-2222-3333-4444-555555555555"
    assert "Authorization" not in sent.headers


def _refresh_op_path(request: httpx.Request) -> bool:
    return request.url.path == "/v1/auth/token/refresh"


def test_proactive_refresh_before_expiry(make_env: Any) -> None:
    seen: List[Dict[str, Any]] = []
    env = make_env(envelope(tokens_data("acc-2", "ref-2")), envelope({"ok": 1}), on_tokens=seen.append)
    env.tokens.store(tokens_data("acc-1", "ref-1", expires_in=600), notify=False)
    env.clock.advance(600 - 29)  # inside the 30 s margin
    res = env.transport.request(prepare(GET))
    assert res.data == {"ok": 1}
    refresh, call = env.script.requests
    assert _refresh_op_path(refresh) and refresh.method == "POST"
    assert json.loads(refresh.content) == {"refresh_token": "ref-1"}
    assert "Authorization" not in refresh.headers
    assert refresh.headers["Idempotency-Key"] == refresh_idempotency_key("ref-1")
    assert "ref-1" not in refresh.headers["Idempotency-Key"]
    assert call.headers["Authorization"] == "Bearer acc-2"
    assert seen == [tokens_data("acc-2", "ref-2")]
    assert env.tokens.refresh_token == "ref-2"  # rotated


def test_no_proactive_refresh_while_fresh(make_env: Any) -> None:
    env = make_env(envelope(1))
    env.tokens.store(tokens_data("acc-1", "ref-1", expires_in=600), notify=False)
    env.clock.advance(600 - 31)
    env.transport.request(prepare(GET))
    assert len(env.script.requests) == 1


def test_short_lived_tokens_use_a_proportional_margin(make_env: Any) -> None:
    env = make_env(envelope(1), envelope(tokens_data("acc-2", "ref-2")), envelope(2))
    env.tokens.store(tokens_data("acc-1", "ref-1", expires_in=2), notify=False)
    env.transport.request(prepare(GET))  # fresh: no refresh although 2 s < 30 s margin
    env.clock.advance(1.9)
    env.transport.request(prepare(GET))
    assert [r.url.path for r in env.script.requests] == [
        "/v1/things/1",
        "/v1/auth/token/refresh",
        "/v1/things/1",
    ]


def test_reactive_refresh_on_token_expired_replays_once(make_env: Any) -> None:
    env = make_env(
        error(401, "token_expired", "access token expired"),
        envelope(tokens_data("acc-2", "ref-2")),
        envelope({"ok": True}),
    )
    env.tokens.store(tokens_data("acc-1", "ref-1"), notify=False)
    res = env.transport.request(prepare(POST, body={"a": 1}))
    assert res.data == {"ok": True}
    first, refresh, replay = env.script.requests
    assert first.headers["Authorization"] == "Bearer acc-1"
    assert _refresh_op_path(refresh)
    assert replay.headers["Authorization"] == "Bearer acc-2"
    assert replay.headers["Idempotency-Key"] == first.headers["Idempotency-Key"]
    assert res.retries_taken == 0  # a replay after refresh is not a retry


def test_second_token_expired_after_replay_is_raised(make_env: Any) -> None:
    env = make_env(
        error(401, "token_expired"),
        envelope(tokens_data("acc-2", "ref-2")),
        error(401, "token_expired", request_id="req_again"),
    )
    env.tokens.store(tokens_data("acc-1", "ref-1"), notify=False)
    with pytest.raises(FabricAuthError) as info:
        env.transport.request(prepare(GET))
    assert info.value.request_id == "req_again"
    assert len(env.script.requests) == 3


def test_plain_401_is_not_refreshed(make_env: Any) -> None:
    env = make_env(error(401, "unauthorized"))
    env.tokens.store(tokens_data("acc-1", "ref-1"), notify=False)
    with pytest.raises(FabricAuthError):
        env.transport.request(prepare(GET))
    assert len(env.script.requests) == 1 and env.tokens.has_session


def test_token_expired_with_api_key_is_not_refreshed(make_env: Any) -> None:
    env = make_env(error(401, "token_expired"))
    with pytest.raises(FabricAuthError):
        env.transport.request(prepare(GET))
    assert len(env.script.requests) == 1


def test_failed_refresh_raises_auth_error_and_clears_tokens(make_env: Any) -> None:
    env = make_env(
        error(401, "token_expired"),
        error(401, "invalid_refresh_token", "refresh token already used", request_id="req_rf"),
    )
    env.tokens.store(tokens_data("acc-1", "ref-1"), notify=False)
    with pytest.raises(FabricAuthError) as info:
        env.transport.request(prepare(GET))
    assert "token refresh failed" in str(info.value) and info.value.request_id == "req_rf"
    assert not env.tokens.has_session and env.tokens.refresh_token is None
    assert len(env.script.requests) == 2  # no replay


def test_refresh_rejected_with_400_also_clears(make_env: Any) -> None:
    env = make_env(error(400, "validation_error", "bad refresh token"))
    env.tokens.store(tokens_data("acc-1", "ref-1", expires_in=10), notify=False)
    env.clock.advance(10)
    with pytest.raises(FabricAuthError):
        env.transport.request(prepare(GET))
    assert not env.tokens.has_session


def test_transient_refresh_failure_keeps_the_session(make_env: Any) -> None:
    env = make_env(error(401, "token_expired"), error(503, "unavailable"))
    env.tokens.store(tokens_data("acc-1", "ref-1"), notify=False)
    with pytest.raises(FabricServerError):
        env.transport.request(prepare(GET), max_retries=0)
    assert env.tokens.refresh_token == "ref-1" and env.tokens.has_session


def test_transient_proactive_refresh_failure_uses_current_token(make_env: Any) -> None:
    env = make_env(httpx.ConnectError("down"), envelope("ok"))
    env.tokens.store(tokens_data("acc-1", "ref-1", expires_in=600), notify=False)
    env.clock.advance(590)
    res = env.transport.request(prepare(GET), max_retries=0)
    assert res.data == "ok"
    assert env.script.requests[1].headers["Authorization"] == "Bearer acc-1"


def test_refresh_retries_share_the_callers_deadline(make_env: Any) -> None:
    env = make_env(
        error(401, "token_expired"),
        error(503, "unavailable"),
        envelope(tokens_data("acc-2", "ref-2")),
        envelope("ok"),
    )
    env.tokens.store(tokens_data("acc-1", "ref-1"), notify=False)
    res = env.transport.request(prepare(GET))
    assert res.data == "ok"
    refresh_keys = {r.headers["Idempotency-Key"] for r in env.script.requests if _refresh_op_path(r)}
    assert refresh_keys == {refresh_idempotency_key("ref-1")}  # same key on the refresh retry


def test_on_tokens_exception_does_not_break_the_call(make_env: Any, caplog: pytest.LogCaptureFixture) -> None:
    def broken(tokens: Dict[str, Any]) -> None:
        raise RuntimeError("disk full")

    env = make_env(envelope(tokens_data("acc-1", "ref-1")), on_tokens=broken)
    env.transport.request(prepare(LOGIN))
    assert env.tokens.access_token == "acc-1"
    assert "on_tokens callback raised" in caplog.text


# -- strict validation -----------------------------------------------------------------------


JOB = {
    "id": "j1",
    "organization_id": "o1",
    "modality": "text",
    "status": "queued",
    "input": {},
    "params": None,
    "output": None,
    "error": None,
    "idempotency_key": None,
    "created_at": "2026-01-01T00:00:00Z",
    "started_at": None,
    "completed_at": None,
}


def test_strict_accepts_matching_data(make_env: Any) -> None:
    op = make_op("GET", "/v1/jobs/j1", operation_id="getJob", data_schema="Job")
    env = make_env(envelope(JOB), envelope([JOB, JOB]), strict=True)
    assert env.transport.request(prepare(op)).data == JOB
    list_op = make_op("GET", "/v1/jobs", operation_id="listSomeJobs", data_schema="Job", data_is_list=True)
    assert env.transport.request(prepare(list_op)).data == [JOB, JOB]


def test_strict_drift_names_operation_and_field(make_env: Any) -> None:
    op = make_op("GET", "/v1/jobs/j1", operation_id="getJob", data_schema="Job")
    drifted = dict(JOB, status="exploded", created_at=None)
    env = make_env(envelope(drifted, request_id="req_drift"), strict=True)
    with pytest.raises(FabricResponseValidationError) as info:
        env.transport.request(prepare(op))
    e = info.value
    assert isinstance(e, FabricResponseError)
    assert "getJob" in str(e) and "status" in str(e) and "req_drift" in str(e)
    assert "exploded" not in str(e)  # values are not quoted (they may be secrets)
    assert e.operation_id == "getJob" and {tuple(p["loc"]) for p in e.errors} == {
        ("status",),
        ("created_at",),
    }


def test_strict_list_drift_names_the_index(make_env: Any) -> None:
    op = make_op("GET", "/v1/jobs", operation_id="listSomeJobs", data_schema="Job", data_is_list=True)
    env = make_env(envelope([JOB, {"id": "j2"}]), strict=True)
    with pytest.raises(FabricResponseValidationError, match=r"listSomeJobs: .*list\[Job\]: 1\."):
        env.transport.request(prepare(op))


def test_not_strict_passes_drift_through(make_env: Any) -> None:
    op = make_op("GET", "/v1/jobs/j1", operation_id="getJob", data_schema="Job")
    env = make_env(envelope({"id": "j1"}))
    assert env.transport.request(prepare(op)).data == {"id": "j1"}


def test_strict_unknown_schema(make_env: Any) -> None:
    op = make_op("GET", "/v1/x", operation_id="getX", data_schema="NoSuchSchema")
    env = make_env(envelope({}), strict=True)
    with pytest.raises(FabricResponseValidationError, match="NoSuchSchema"):
        env.transport.request(prepare(op))


# -- streams -----------------------------------------------------------------------------------


SSE = make_op("GET", "/v1/events/stream", operation_id="streamEvents", response="sse")


def test_open_stream_yields_open_response_and_closes_it(make_env: Any) -> None:
    env = make_env(
        httpx.Response(
            200, stream=httpx.ByteStream(b"data: 1\n\n"), headers={"Content-Type": "text/event-stream"}
        )
    )
    with env.transport.open_stream(prepare(SSE), headers={"Last-Event-ID": "41"}) as resp:
        assert not resp.is_closed
        assert b"".join(resp.iter_raw()) == b"data: 1\n\n"
        sent = env.script.requests[0]
    assert resp.is_closed
    assert sent.headers["Last-Event-ID"] == "41" and sent.headers["Accept"] == "text/event-stream"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"


def test_open_stream_maps_errors_after_reading_body(make_env: Any) -> None:
    env = make_env(error(404, "not_found", "no such run"))
    with pytest.raises(FabricNotFoundError, match="no such run"), env.transport.open_stream(prepare(SSE)):
        pass  # pragma: no cover


def test_open_stream_retries_connection_errors_within_deadline(make_env: Any) -> None:
    env = make_env(httpx.ConnectError("refused"), error(503, "unavailable"), httpx.Response(200, content=b""))
    with env.transport.open_stream(prepare(SSE), timeout=10) as resp:
        assert resp.status_code == 200
    assert env.clock.sleeps == [0.5, 1.0]
    timeout = env.script.requests[0].extensions["timeout"]
    assert timeout["read"] == 10 and timeout["connect"] == 10


def test_open_stream_refreshes_on_token_expired(make_env: Any) -> None:
    env = make_env(error(401, "token_expired"), envelope(tokens_data("acc-2", "ref-2")), httpx.Response(200))
    env.tokens.store(tokens_data("acc-1", "ref-1"), notify=False)
    with env.transport.open_stream(prepare(SSE)) as resp:
        assert resp.request.headers["Authorization"] == "Bearer acc-2"


# -- lifecycle ---------------------------------------------------------------------------------


def test_byo_http_client_is_not_closed() -> None:
    script = Script(envelope(1))
    http = httpx.Client(transport=httpx.MockTransport(script))
    t = SyncTransport(config(), http_client=http)
    t.request(prepare(GET))
    t.close()
    t.close()
    assert not http.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        t.request(prepare(GET))
    http.close()


def test_owned_client_is_closed_and_close_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    script = Script(envelope(1))
    made: List[httpx.Client] = []

    def create(cfg: Any) -> httpx.Client:
        made.append(httpx.Client(transport=httpx.MockTransport(script)))
        return made[-1]

    monkeypatch.setattr(sync_transport, "create_client_sync", create)
    t = SyncTransport(config())
    assert t.http_client is made[0]
    t.request(prepare(GET))
    t.close()
    assert made[0].is_closed
    t.close()  # idempotent
    assert t.is_closed


def test_copy_shares_pool_and_tokens(make_env: Any) -> None:
    env = make_env(envelope(1), envelope(2))
    copy = env.transport.copy(timeout=5.0, max_retries=0)
    assert copy.http_client is env.transport.http_client
    assert copy.tokens is env.transport.tokens
    assert copy.config.timeout == 5.0 and copy.config.max_retries == 0
    assert env.transport.config.timeout == 30.0
    copy.request(prepare(GET))
    assert env.script.requests[0].extensions["timeout"]["read"] == 5.0
    copy.close()  # a copy never closes the shared pool
    assert not env.transport.is_closed
    env.transport.request(prepare(GET))
    copy2 = env.transport.copy(config=env.config.replace(strict=True))
    assert copy2.config.strict and copy2.http_client is env.transport.http_client
    env.transport.close()
    with pytest.raises(RuntimeError):
        copy2.request(prepare(GET))


def test_copy_with_other_credentials_gets_its_own_store(make_env: Any) -> None:
    env = make_env(envelope(1))
    env.tokens.store(tokens_data("acc-1", "ref-1"), notify=False)
    other = env.transport.copy(api_key="fab_test_other")
    assert other.tokens is not env.tokens and not other.tokens.has_session
    other.request(prepare(GET))
    assert env.script.requests[0].headers["Authorization"] == "Bearer fab_test_other"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"data":{"ok":true},"meta":{"request_id":"req_real"},"error":null}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def real_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _resource_warnings(record: List[warnings.WarningMessage]) -> List[str]:
    return [str(w.message) for w in record if issubclass(w.category, ResourceWarning)]


def test_no_resource_warning_over_real_sockets(real_server: str) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        t = SyncTransport(config(base_url=real_server))
        for _ in range(3):
            assert t.request(prepare(GET)).data == {"ok": True}
        with t.open_stream(prepare(GET)) as resp:
            resp.read()
        t.close()
        t.close()
        del t
        gc.collect()

        async def run() -> None:
            at = AsyncTransport(config(base_url=real_server))
            assert (await at.request(prepare(GET))).data == {"ok": True}
            async with at.open_stream(prepare(GET)) as resp:
                await resp.aread()
            await at.close()
            await at.close()

        asyncio.run(run())
        gc.collect()
    assert _resource_warnings(record) == []


def test_forgotten_sync_transport_releases_its_pool(real_server: str) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        t = SyncTransport(config(base_url=real_server))
        t.request(prepare(GET))
        client = t.http_client
        del t
        gc.collect()
        assert isinstance(client, httpx.Client) and client.is_closed
    assert _resource_warnings(record) == []


def test_concurrent_requests_from_threads(make_env: Any) -> None:
    lock = threading.Lock()
    count = [0]

    def ok(request: httpx.Request) -> httpx.Response:
        with lock:
            count[0] += 1
        return envelope({"n": request.url.params["i"]})

    env = make_env(*([ok] * 40))
    results: List[Any] = []

    def worker(i: int) -> None:
        results.append(env.transport.request(prepare(GET, params=[("i", str(i))])).data["n"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results, key=int) == [str(i) for i in range(40)] and count[0] == 40


# -- the async twin ----------------------------------------------------------------------------


class AsyncEnv:
    def __init__(self, script: Script, **cfg: Any) -> None:
        self.script = script
        self.clock = FakeClock()
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(script))
        self.config = config(**cfg)
        self.tokens = TokenStore(self.config, clock=self.clock)
        self.transport = AsyncTransport(
            self.config,
            self.tokens,
            http_client=self.http,
            clock=self.clock,
            sleep=self.clock.asleep,
            rand=lambda: 0.5,
        )


def _arun(script: Script, body: Any, **cfg: Any) -> Tuple[AsyncEnv, Any]:
    env = AsyncEnv(script, **cfg)

    async def main() -> Any:
        try:
            return await body(env)
        finally:
            await env.transport.close()
            await env.http.aclose()

    return env, asyncio.run(main())


def test_async_envelope_retries_and_key_reuse() -> None:
    script = Script(
        error(503, "unavailable"), httpx.ConnectError("x"), envelope({"id": "j"}, request_id="req_a")
    )

    async def body(env: AsyncEnv) -> Any:
        return await env.transport.request(prepare(POST, body={"x": 1}))

    env, res = _arun(script, body)
    assert res.data == {"id": "j"} and res.request_id == "req_a" and res.retries_taken == 2
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1
    assert env.clock.sleeps == [0.5, 1.0]


def test_async_errors_and_deadline() -> None:
    script = Script(error(429, "rate_limited", headers={"Retry-After": "50"}))

    async def body(env: AsyncEnv) -> Any:
        with pytest.raises(FabricRateLimitError) as info:
            await env.transport.request(prepare(GET), timeout=30)
        return info.value

    env, e = _arun(script, body)
    assert e.retry_after == 50.0 and env.clock.sleeps == []


def test_async_reactive_refresh_and_store_effects() -> None:
    script = Script(
        envelope(tokens_data("acc-1", "ref-1")),
        error(401, "token_expired"),
        envelope(tokens_data("acc-2", "ref-2")),
        envelope("ok"),
        envelope(None),
    )

    async def body(env: AsyncEnv) -> Any:
        await env.transport.request(prepare(LOGIN))
        res = await env.transport.request(prepare(GET))
        await env.transport.request(prepare(LOGOUT))
        return res

    env, res = _arun(script, body)
    assert res.data == "ok"
    assert [r.headers.get("Authorization") for r in script.requests] == [
        None,
        "Bearer acc-1",
        None,
        "Bearer acc-2",
        "Bearer acc-2",
    ]
    assert not env.tokens.has_session


def test_async_failed_refresh_clears() -> None:
    script = Script(error(401, "token_expired"), error(401, "invalid_refresh_token"))

    async def body(env: AsyncEnv) -> Any:
        env.tokens.store(tokens_data("acc-1", "ref-1"), notify=False)
        with pytest.raises(FabricAuthError):
            await env.transport.request(prepare(GET))

    env, _ = _arun(script, body)
    assert not env.tokens.has_session


def test_async_open_stream_and_errors() -> None:
    script = Script(
        httpx.ConnectError("x"),
        httpx.Response(200, stream=httpx.ByteStream(b"data: a\n\n")),
        error(403, "forbidden"),
    )

    async def body(env: AsyncEnv) -> Any:
        async with env.transport.open_stream(prepare(SSE)) as resp:
            chunks = [c async for c in resp.aiter_raw()]
        assert resp.is_closed
        with pytest.raises(FabricForbiddenError):
            async with env.transport.open_stream(prepare(SSE)):
                pass  # pragma: no cover
        return b"".join(chunks)

    _, data = _arun(script, body)
    assert data == b"data: a\n\n"


def test_async_copy_and_close() -> None:
    script = Script(envelope(1))

    async def body(env: AsyncEnv) -> Any:
        copy = env.transport.copy(max_retries=0)
        assert copy.http_client is env.transport.http_client and copy.tokens is env.tokens
        await copy.close()
        assert not env.transport.is_closed
        await env.transport.request(prepare(GET))
        await env.transport.close()
        await env.transport.close()
        with pytest.raises(RuntimeError):
            await copy.request(prepare(GET))
        return env.http.is_closed

    _, http_closed = _arun(script, body)
    assert http_closed is False  # the BYO client stayed open until the test closed it

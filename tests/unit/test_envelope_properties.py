"""Property tests: whatever a server answers, the SDK raises a Fabric exception or returns data.

Bodies are arbitrary bytes or arbitrary JSON (envelope-shaped or not), statuses anything from
100 to 599, headers (Content-Type, Retry-After, X-Request-Id) arbitrary strings. Checked at
two depths: the pure parsers (``parse_success``, ``build_api_error``, ``parse_retry_after``)
and the whole pipeline of both clients over ``httpx.MockTransport`` (no sockets, no sleeps:
retries off).
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any, Dict, Optional

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform._core.envelope import build_api_error, parse_success
from fabric_platform._core.retry import parse_retry_after
from fabric_platform.errors import (
    FabricAPIError,
    FabricAuthError,
    FabricError,
    FabricRateLimitError,
    FabricResponseError,
    FabricServerError,
)

BASE = "http://fabric.test"
SECRET_KEY = "fab_test_envelope_property_key"

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: beyond 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)  # lone surrogates included (json.dumps escapes them)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Objects that look like envelopes, with any field of any type.
envelope_like = st.fixed_dictionaries(
    {},
    optional={
        "data": json_values,
        "meta": json_values | st.fixed_dictionaries({}, optional={"request_id": json_values}),
        "error": json_values
        | st.fixed_dictionaries(
            {}, optional={"code": json_values, "message": json_values, "details": json_values}
        ),
    },
)
bodies = (
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | envelope_like.map(lambda v: json.dumps(v).encode())
    # Truncated JSON: a valid document cut short.
    | envelope_like.map(lambda v: json.dumps(v).encode()[:-1])
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
headers = st.fixed_dictionaries(
    {},
    optional={
        "content-type": header_text | st.sampled_from(["application/json", "text/html", "text/event-stream"]),
        "retry-after": header_text
        | st.sampled_from(["0", "1.5", "-3", "nan", "inf", "1e400", "Wed, 21 Oct 2015 07:28:00 GMT"]),
        "x-request-id": header_text,
    },
)
statuses = st.integers(min_value=100, max_value=599)


def _response(status: int, body: bytes, hdrs: Dict[str, str]) -> httpx.Response:
    request = httpx.Request("GET", f"{BASE}/v1/me")
    return httpx.Response(status, content=body, headers=hdrs, request=request)


@settings(max_examples=500)
@given(st.integers(min_value=200, max_value=299), bodies, headers)
@example(200, b"", {})
@example(204, b"", {})
@example(200, b'{"data": null}', {})
@example(200, b"<html>502</html>", {"content-type": "text/html"})
def test_a_2xx_gives_data_or_a_response_error(status: int, body: bytes, hdrs: Dict[str, str]) -> None:
    try:
        envelope = parse_success(_response(status, body, hdrs), method="GET", path="/v1/me")
    except FabricResponseError as exc:
        assert "GET /v1/me" in str(exc)
        return
    assert isinstance(envelope.meta, dict)
    assert envelope.request_id is None or isinstance(envelope.request_id, str)
    if body:
        assert envelope.data == json.loads(body)["data"]


@settings(max_examples=500)
@given(st.integers(min_value=300, max_value=599), bodies, headers)
@example(502, b"<html><body>Bad Gateway</body></html>", {"content-type": "text/html"})
@example(429, b"", {"retry-after": "1e400"})
@example(401, b'{"data": null, "error": {"code": 7, "message": ["x"], "details": "y"}}', {})
def test_an_error_status_always_builds_a_typed_error(status: int, body: bytes, hdrs: Dict[str, str]) -> None:
    error = build_api_error(
        _response(status, body, hdrs), method="GET", path="/v1/me", secrets=[SECRET_KEY], now=1e9
    )
    assert isinstance(error, FabricAPIError)
    assert error.status_code == status
    assert isinstance(error.code, str) and error.code
    assert isinstance(error.message, str)
    assert error.details is None or isinstance(error.details, dict)
    assert error.request_id is None or isinstance(error.request_id, str)
    if status >= 500:
        assert isinstance(error, FabricServerError)
    if status == 401:
        assert isinstance(error, FabricAuthError)
    if status == 429:
        assert isinstance(error, FabricRateLimitError)
        assert error.retry_after is None or (math.isfinite(error.retry_after) and error.retry_after >= 0)
    str(error), repr(error)


@settings(max_examples=200)
@given(st.integers(min_value=400, max_value=599), st.text(max_size=30), st.text(max_size=30))
def test_the_request_secret_never_survives_in_an_error(status: int, before: str, after: str) -> None:
    # A server echoing the caller's credential in its message or details.
    body = json.dumps(
        {
            "data": None,
            "error": {
                "code": "bad",
                "message": f"{before}{SECRET_KEY}{after}",
                "details": {"echo": [f"Bearer {SECRET_KEY}", {"deep": SECRET_KEY}]},
            },
        }
    ).encode()
    error = build_api_error(_response(status, body, {}), method="GET", path="/v1/me", secrets=[SECRET_KEY])
    assert SECRET_KEY not in str(error)
    assert SECRET_KEY not in json.dumps(error.details)


@given(header_text | st.text(max_size=40), st.floats(min_value=0, max_value=4e9))
@example("Wed, 21 Oct 2015 07:28:00 GMT", 1e9)
@example("99999999999999999999", 0.0)
def test_retry_after_parsing_never_raises(value: str, now: float) -> None:
    for cap in (None, 60.0):
        seconds = parse_retry_after(value, now, cap=cap)
        assert seconds is None or (math.isfinite(seconds) and 0 <= seconds <= (cap or math.inf))


def _handler(status: int, body: bytes, hdrs: Dict[str, str]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=hdrs)

    return handle


def _outcome(value: Any) -> Optional[BaseException]:
    return value if isinstance(value, BaseException) else None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(statuses, bodies, headers)
@example(200, b"[]", {})
@example(302, b"", {"location": "http://elsewhere.test/"})
@example(101, b"", {})
def test_the_sync_pipeline_only_raises_fabric_errors(status: int, body: bytes, hdrs: Dict[str, str]) -> None:
    http = httpx.Client(transport=httpx.MockTransport(_handler(status, body, hdrs)))
    with FabricClient(base_url=BASE, api_key=SECRET_KEY, max_retries=0, http_client=http) as fabric:
        try:
            fabric.get_me()
        except FabricError as exc:
            assert SECRET_KEY not in str(exc)
        # Anything else propagates and fails the property.
    http.close()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(statuses, bodies, headers)
def test_the_async_pipeline_only_raises_fabric_errors(status: int, body: bytes, hdrs: Dict[str, str]) -> None:
    async def main() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(_handler(status, body, hdrs)))
        async with AsyncFabricClient(
            base_url=BASE, api_key=SECRET_KEY, max_retries=0, http_client=http
        ) as fabric:
            try:
                await fabric.get_me()
            except FabricError as exc:
                assert SECRET_KEY not in str(exc)
        await http.aclose()

    asyncio.run(main())


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
# With orjson installed (the "speedups" extra) these came back different from json.loads:
# an integer beyond 64 bits as a float (digits lost), an escaped lone surrogate refused.
@example({"id": 18446744073709551616})
@example(["\ud800"])
def test_a_well_formed_envelope_returns_its_data_unchanged(data: Any) -> None:
    body = json.dumps({"data": data, "meta": {"request_id": "req_1"}, "error": None}).encode()
    http = httpx.Client(
        transport=httpx.MockTransport(_handler(200, body, {"content-type": "application/json"}))
    )
    with FabricClient(base_url=BASE, api_key=SECRET_KEY, max_retries=0, http_client=http) as fabric:
        raw = fabric.with_raw_response.get_me()
    http.close()
    # repr, not ==: 2**64 == float(2**64), but the float lost the digits below.
    assert repr(raw.data) == repr(json.loads(body)["data"])
    assert raw.request_id == "req_1"

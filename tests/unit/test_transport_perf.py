"""The transport's performance mechanisms keep behaviour identical: the async bound on
requests in flight, the merged-headers fast path (and its cache), requests without a body
built as httpx would, the cached credentials snapshot, per-operation call templates, and a
sync transport that imports neither asyncio nor pydantic."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any, List, Optional

import httpx
import pytest
from pipeline_support import API_KEY, BASE, config, envelope, error, make_op, prepare

from fabric_platform._async.transport import AsyncTransport
from fabric_platform._auth import TokenStore
from fabric_platform._config import DEFAULT_MAX_IN_FLIGHT
from fabric_platform._http.gate import Gate
from fabric_platform._sync.transport import SyncTransport
from fabric_platform.errors import FabricServerError, FabricTimeoutError

GET = make_op("GET", "/v1/things/1", operation_id="getThing")
POST = make_op("POST", "/v1/things", operation_id="createThing")
STREAM = make_op("GET", "/v1/things/events", operation_id="streamThings", response="sse")


# -- the async bound on requests in flight ---------------------------------------------------


class Gauge:
    """An async MockTransport handler that counts requests in progress."""

    def __init__(self, *, delay: float = 0.005, hold: Optional[asyncio.Event] = None) -> None:
        self.delay = delay
        self.hold = hold
        self.active = 0
        self.peak = 0
        self.seen = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.active += 1
        self.seen += 1
        self.peak = max(self.peak, self.active)
        try:
            if self.hold is not None:
                await self.hold.wait()
            await asyncio.sleep(self.delay)
        finally:
            self.active -= 1
        if request.url.path.endswith("/events"):
            return httpx.Response(200, content=b"data: {}\n\n", headers={"content-type": "text/event-stream"})
        if request.url.path.endswith("/fail"):
            return error(500, "internal_error")
        return envelope({"n": self.seen})


def _transport(handler: Any, *, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT, **cfg: Any) -> AsyncTransport:
    return AsyncTransport(
        config(**cfg),
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        max_in_flight=max_in_flight,
    )


def test_async_requests_in_flight_never_exceed_the_bound() -> None:
    gauge = Gauge()

    async def main() -> List[Any]:
        t = _transport(gauge, max_in_flight=3)
        try:
            return await asyncio.gather(*(t.request(prepare(GET)) for _ in range(40)))
        finally:
            await t.close()

    results = asyncio.run(main())
    assert len(results) == 40 and all(r.status_code == 200 for r in results)
    assert gauge.peak == 3


def test_default_bound_lets_a_thousand_tasks_through() -> None:
    gauge = Gauge(delay=0)

    async def main() -> int:
        t = _transport(gauge)
        try:
            results = await asyncio.gather(*(t.request(prepare(GET)) for _ in range(1000)))
            return sum(1 for r in results if r.status_code == 200)
        finally:
            await t.close()

    assert asyncio.run(main()) == 1000
    assert gauge.peak <= DEFAULT_MAX_IN_FLIGHT


def test_waiting_for_a_turn_counts_against_the_deadline() -> None:
    async def main() -> None:
        hold = asyncio.Event()
        gauge = Gauge(hold=hold)
        t = _transport(gauge, max_in_flight=1)
        try:
            first = asyncio.ensure_future(t.request(prepare(GET), timeout=30))
            await asyncio.sleep(0.01)  # the first request holds the only slot
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(FabricTimeoutError) as info:
                await t.request(prepare(GET), timeout=0.2)
            assert loop.time() - started < 2.0
            assert isinstance(info.value, TimeoutError)
            assert gauge.seen == 1  # the second request never reached the pool
            hold.set()
            assert (await first).status_code == 200
        finally:
            await t.close()

    asyncio.run(main())


def test_slots_are_released_after_errors_streams_and_cancellation() -> None:
    async def main() -> None:
        gauge = Gauge()
        t = _transport(gauge, max_in_flight=1, max_retries=0)
        try:
            fail = make_op("GET", "/v1/things/fail", operation_id="failThing")
            for _ in range(3):
                with pytest.raises(FabricServerError):
                    await t.request(prepare(fail))
            # An open stream holds its connection, not a slot: calls go on meanwhile.
            async with t.open_stream(prepare(STREAM)) as response:
                assert response.status_code == 200
                assert (await t.request(prepare(GET))).status_code == 200
            # A cancelled call gives its slot back.
            gauge.hold = asyncio.Event()
            task = asyncio.ensure_future(t.request(prepare(GET)))
            await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            gauge.hold = None
            assert (await asyncio.wait_for(t.request(prepare(GET)), 5)).status_code == 200
        finally:
            await t.close()

    asyncio.run(main())


def test_bound_is_shared_by_copies_and_works_across_event_loops() -> None:
    gauge = Gauge()
    t = _transport(gauge, max_in_flight=2)
    copy = t.copy(timeout=10)

    async def burst() -> None:
        await asyncio.gather(*(tr.request(prepare(GET)) for tr in [t, copy] * 10))

    asyncio.run(burst())
    asyncio.run(burst())  # a second loop gets its own semaphore
    assert gauge.peak == 2 and gauge.seen == 40

    async def close() -> None:
        await t.close()

    asyncio.run(close())


def test_invalid_bound() -> None:
    with pytest.raises(ValueError):
        _transport(Gauge(), max_in_flight=0)


# -- merged headers: the fast path sends what client.build_request would ----------------------


class Recorder:
    def __init__(self) -> None:
        self.requests: List[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return envelope(
            {"ok": True}, headers={"set-cookie": "sid=abc; Path=/"} if "cookie" in str(request.url) else None
        )


def test_fast_path_headers_equal_build_request_headers() -> None:
    recorder = Recorder()
    http = httpx.Client(
        transport=httpx.MockTransport(recorder),
        headers={"X-App": "one", "User-Agent": "theirs/1.0", "Accept": "text/plain"},
    )
    t = SyncTransport(config(default_headers={"X-Team": "blue", "X-App": "two"}), http_client=http)
    prepared = prepare(POST, body={"a": 1}, headers={"X-Op": "o"})
    call = t._planner.start(
        prepared, idempotency_key="k1", timeout=None, max_retries=None, headers={"X-Extra": "e"}, stream=False
    )
    auth = t.tokens.snapshot()
    fast = t._builder.build(call, auth)
    slow = http.build_request(
        call.method, call.url, headers=t._builder.own_headers(call, auth), content=call.content
    )
    assert sorted(fast.headers.multi_items()) == sorted(slow.headers.multi_items())
    assert fast.headers["User-Agent"].startswith("fabric-platform-python/")
    assert fast.headers["X-App"] == "two" and fast.headers["Idempotency-Key"] == "k1"
    assert str(fast.url) == str(slow.url) and fast.content == slow.content
    http.close()


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("client_host", [None, "proxy.example"])
def test_requests_without_a_body_are_what_build_request_makes(
    method: str, client_host: Optional[str]
) -> None:
    # Built with a ready empty body and Host among the merged headers: the same request,
    # header order included, as httpx's own path.
    client_headers = {"X-App": "one"} if client_host is None else {"Host": client_host}
    http = httpx.Client(transport=httpx.MockTransport(Recorder()), headers=client_headers)
    t = SyncTransport(config(base_url="https://fabric.test:8443/api"), http_client=http)
    op = make_op(method, "/v1/things/1", operation_id="thing")
    for params, content in [((), None), ([("tag", "a"), ("tag", "b")], None), ((), b"raw")]:
        call = t._planner.start(
            prepare(op, params=params, content=content),
            idempotency_key=None,
            timeout=None,
            max_retries=None,
            headers=None,
            stream=False,
        )
        auth = t.tokens.snapshot()
        fast = t._builder.build(call, auth)
        slow = http.build_request(
            call.method,
            call.url,
            params=call.params or None,
            headers=t._builder.own_headers(call, auth),
            content=content,
        )
        assert fast.headers.raw == slow.headers.raw
        assert (fast.method, fast.url, fast.content) == (slow.method, slow.url, slow.content)
        assert list(fast.stream) == list(slow.stream)  # type: ignore[arg-type]
        assert fast.headers["Host"] == (client_host or "fabric.test:8443")
    http.close()


def test_changes_to_the_clients_headers_are_seen() -> None:
    recorder = Recorder()
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    t = SyncTransport(config(), http_client=http)
    t.request(prepare(GET))
    assert "x-trace" not in recorder.requests[-1].headers
    http.headers["X-Trace"] = "on"  # mutated in place, after the first call was cached
    t.request(prepare(GET))
    assert recorder.requests[-1].headers["X-Trace"] == "on"
    http.headers = {"X-Other": "1"}  # replaced
    t.request(prepare(GET))
    assert recorder.requests[-1].headers["X-Other"] == "1" and "x-trace" not in recorder.requests[-1].headers
    http.close()


def test_client_cookies_params_and_subclasses_use_build_request() -> None:
    recorder = Recorder()
    http = httpx.Client(transport=httpx.MockTransport(recorder), params={"tenant": "t1"}, cookies={"c": "1"})
    t = SyncTransport(config(), http_client=http)
    t.request(prepare(GET))
    sent = recorder.requests[-1]
    assert sent.url.params["tenant"] == "t1" and sent.headers["Cookie"] == "c=1"

    class Tagging(httpx.Client):
        def build_request(self, *args: Any, **kwargs: Any) -> httpx.Request:
            request = super().build_request(*args, **kwargs)
            request.headers["X-Tagged"] = "yes"
            return request

    tagging = Tagging(transport=httpx.MockTransport(recorder))
    SyncTransport(config(), http_client=tagging).request(prepare(GET))
    assert recorder.requests[-1].headers["X-Tagged"] == "yes"
    http.close()
    tagging.close()


def test_keyed_calls_are_not_cached_and_each_gets_its_key() -> None:
    recorder = Recorder()
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    t = SyncTransport(config(), http_client=http)
    for _ in range(3):
        t.request(prepare(POST, body={}))
    keys = {r.headers["Idempotency-Key"] for r in recorder.requests}
    assert len(keys) == 3
    assert all(k[0] == "application/json" for k in t._builder._header_cache)  # only unkeyed entries
    http.close()


# -- credentials snapshot ------------------------------------------------------------------------


def test_snapshot_is_reused_until_the_tokens_change() -> None:
    store = TokenStore(config())
    first = store.snapshot()
    assert store.snapshot() is first
    assert first.headers["Authorization"] == f"Bearer {API_KEY}"
    store.store({"access_token": "acc-1", "refresh_token": "ref-1", "expires_in": 3600})
    second = store.snapshot()
    assert second.generation != first.generation and second.headers["Authorization"] == "Bearer acc-1"
    assert second.uses_session
    store.clear()
    third = store.snapshot()
    assert third.headers["Authorization"] == f"Bearer {API_KEY}" and not third.uses_session
    assert third.generation > second.generation


def test_headers_follow_a_token_change_on_the_fast_path() -> None:
    recorder = Recorder()
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    t = SyncTransport(config(), http_client=http)
    t.request(prepare(GET))
    assert recorder.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"
    t.tokens.store({"access_token": "acc-2", "expires_in": 3600})
    t.request(prepare(GET))
    assert recorder.requests[-1].headers["Authorization"] == "Bearer acc-2"
    assert str(recorder.requests[-1].url).startswith(BASE)
    http.close()


def test_cookies_a_server_sets_are_sent_back_as_before() -> None:
    recorder = Recorder()
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    t = SyncTransport(config(), http_client=http)
    t.request(prepare(make_op("GET", "/v1/cookie", operation_id="getCookie")))
    assert "cookie" not in recorder.requests[-1].headers
    t.request(prepare(GET))
    assert recorder.requests[-1].headers["Cookie"] == "sid=abc"
    http.close()


def test_async_client_passes_its_bound_to_the_transport() -> None:
    from fabric_platform import AsyncFabricClient

    gauge = Gauge()

    async def main() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(gauge))
        client = AsyncFabricClient(base_url=BASE, api_key=API_KEY, http_client=http, max_in_flight=2)
        try:
            await asyncio.gather(*(client._transport.request(prepare(GET)) for _ in range(10)))
        finally:
            await client.close()
            await http.aclose()

    asyncio.run(main())
    assert gauge.peak == 2
    with pytest.raises(ValueError):
        AsyncFabricClient(base_url=BASE, api_key=API_KEY, max_in_flight=0)


def test_gate_is_first_come_first_served_and_hands_slots_over() -> None:
    async def main() -> None:
        gate = Gate(1, asyncio.get_running_loop())
        order: List[int] = []
        assert await gate.enter(1.0)  # the only slot

        async def worker(i: int) -> None:
            assert await gate.enter(5.0)
            order.append(i)
            await asyncio.sleep(0)
            gate.leave()

        tasks = [asyncio.ensure_future(worker(i)) for i in range(5)]
        await asyncio.sleep(0.01)
        assert gate.free == 0 and order == []
        gate.leave()
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3, 4] and gate.free == 1

    asyncio.run(main())


def test_gate_timeouts_and_cancellations_lose_no_slot() -> None:
    async def main() -> None:
        gate = Gate(2, asyncio.get_running_loop())
        assert await gate.enter(1.0) and await gate.enter(1.0)
        assert not await gate.enter(0.01)  # timed out
        waiting = asyncio.ensure_future(gate.enter(5.0))
        await asyncio.sleep(0)
        waiting.cancel()  # cancelled while waiting
        with pytest.raises(asyncio.CancelledError):
            await waiting
        # Handed a slot, then cancelled before it ran: the slot moves on.
        handed = asyncio.ensure_future(gate.enter(5.0))
        await asyncio.sleep(0)
        gate.leave()  # hands the slot to `handed`...
        handed.cancel()  # ...which is cancelled before it resumes
        with pytest.raises(asyncio.CancelledError):
            await handed
        assert gate.free == 1
        gate.leave()
        assert gate.free == 2
        assert await gate.enter(0) and await gate.enter(0) and gate.free == 0

    asyncio.run(main())


# -- call templates: computed once per operation and transport ---------------------------------


def test_each_copy_calls_an_operation_with_its_own_settings() -> None:
    seen: List[Optional[float]] = []
    fail_next = [True]

    def flaky(request: httpx.Request) -> httpx.Response:
        # Every call's first attempt fails, a retry succeeds.
        seen.append(request.extensions["timeout"]["read"])
        failing = fail_next[0]
        fail_next[0] = not failing
        return error(503, "unavailable") if failing else envelope({"ok": True})

    http = httpx.Client(transport=httpx.MockTransport(flaky))
    t = SyncTransport(config(max_retries=1, timeout=30.0), http_client=http, sleep=lambda s: None)
    assert t.request(prepare(GET)).retries_taken == 1  # the template of `t` allows a retry
    copy = t.copy(max_retries=0, timeout=5.0)
    with pytest.raises(FabricServerError):
        copy.request(prepare(GET))  # same operation: the copy's template allows none
    assert seen[-1] is not None and seen[-1] <= 5.0
    fail_next[0] = True
    assert t.request(prepare(GET)).retries_taken == 1  # and the original is unchanged
    http.close()


def test_options_of_one_call_do_not_leak_into_the_next() -> None:
    recorder = Recorder()
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    t = SyncTransport(config(), http_client=http)
    t.request(prepare(GET))
    with_options = t.request(prepare(GET), idempotency_key="k-1", headers={"X-Trace": "1"}, timeout=3.0)
    assert with_options.idempotency_key == "k-1"
    sent = recorder.requests[-1]
    assert sent.headers["Idempotency-Key"] == "k-1" and sent.headers["X-Trace"] == "1"
    assert sent.extensions["timeout"]["read"] <= 3.0
    plain = t.request(prepare(GET))
    sent = recorder.requests[-1]
    assert plain.idempotency_key is None
    assert "idempotency-key" not in sent.headers and "x-trace" not in sent.headers
    assert sent.extensions["timeout"]["read"] == pytest.approx(30.0, abs=1.0)
    http.close()


def test_public_calls_never_share_cached_headers_with_authenticated_ones() -> None:
    recorder = Recorder()
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    t = SyncTransport(config(), http_client=http)
    health = make_op("GET", "/v1/health", operation_id="health", public=True)
    for _ in range(2):
        t.request(prepare(GET))
        t.request(prepare(health))
    sent = [(r.url.path, r.headers.get("authorization")) for r in recorder.requests]
    assert sent == [("/v1/things/1", f"Bearer {API_KEY}"), ("/v1/health", None)] * 2
    http.close()


def test_importing_the_sync_transport_needs_neither_asyncio_nor_pydantic() -> None:
    code = (
        "import sys\n"
        "import fabric_platform._sync.transport\n"
        "print('asyncio' in sys.modules, 'pydantic' in sys.modules)\n"
        "import fabric_platform._async.transport\n"
        "print('asyncio' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "True"]


# -- SSE: the once-per-batch scan for long digit runs ----------------------------------------


def test_sse_integers_beyond_64_bits_stay_exact_however_the_stream_is_cut() -> None:
    from fabric_platform._core.sse import SSEDecoder

    big = 18446744073709551616123
    stream = (
        b'id: 1\ndata: {"n": 1}\n\n'
        b'id: 2\ndata: {"n": ' + str(big).encode() + b"}\n\n"
        b'id: 3\ndata: {"n": 12345678901234567890123, "m": 2}\n\n'
    )
    for cut in range(1, len(stream)):
        decoder = SSEDecoder()
        events = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert [e.json["n"] for e in events] == [1, big, 12345678901234567890123]
        assert all(type(e.json["n"]) is int for e in events)

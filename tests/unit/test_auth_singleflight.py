"""Single-flight token refresh: 50 threads (sync) or 200 tasks (async) that find the access
token expired together cause exactly one refresh request, and every request succeeds.

The fake server rotates refresh tokens (each is single-use: a second refresh with the same
token is rejected and would end the session), so a duplicate refresh fails the test twice
over: in the count, and in the calls that would get a 401.

The refresh handler holds its answer until every worker has received its 401, so all of
them are guaranteed to be racing for the refresh while it is in flight; the outcome does not
depend on thread scheduling.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, List

import httpx
import pytest
from pipeline_support import FakeClock, config, envelope, error, make_op, prepare, tokens_data

from fabric_platform._async.transport import AsyncTransport
from fabric_platform._auth import TokenStore
from fabric_platform._sync.transport import SyncTransport
from fabric_platform.errors import FabricAuthError

GET = make_op("GET", "/v1/me", operation_id="getMe")
THREADS = 50
TASKS = 200


class RotatingServer:
    """Access tokens acc-N are valid only for the current N; refresh tokens are single-use."""

    def __init__(self, workers: int, *, reject_refresh: bool = False) -> None:
        self.generation = 1
        self.used_refresh: set = set()  # type: ignore[type-arg]
        self.refresh_calls = 0
        self.expired_answers = 0
        self.workers = workers
        self.reject_refresh = reject_refresh
        self.lock = threading.Lock()
        self.all_expired = threading.Event()

    def handle_protected(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            if request.headers.get("Authorization") != f"Bearer acc-{self.generation}":
                self.expired_answers += 1
                if self.expired_answers >= self.workers:
                    self.all_expired.set()
                return error(401, "token_expired", "access token expired")
            return envelope({"principal_id": "p1", "token": self.generation})

    def refresh_answer(self, request: httpx.Request) -> httpx.Response:
        import json

        token = json.loads(request.content)["refresh_token"]
        with self.lock:
            self.refresh_calls += 1
            if self.reject_refresh:
                return error(401, "invalid_refresh_token", "refresh token revoked")
            if token in self.used_refresh or token != f"ref-{self.generation}":
                return error(401, "invalid_refresh_token", "refresh token already used")
            self.used_refresh.add(token)
            self.generation += 1
            return envelope(tokens_data(f"acc-{self.generation}", f"ref-{self.generation}"))


def test_50_threads_one_refresh() -> None:
    server = RotatingServer(THREADS)
    # acc-0 is already expired on the server: every worker gets 401 token_expired first.
    server.generation = 1

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.path == "/v1/auth/token/refresh":
            # Hold the refresh until all 50 workers have been told their token expired.
            assert server.all_expired.wait(10), "not every worker reached the server"
            return server.refresh_answer(request)
        return server.handle_protected(request)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    tokens = TokenStore(config())
    tokens.store({"access_token": "acc-0", "refresh_token": "ref-1", "expires_in": 3600}, notify=False)
    transport = SyncTransport(config(), tokens, http_client=http)
    barrier = threading.Barrier(THREADS)
    results: List[Any] = []
    failures: List[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(transport.request(prepare(GET)).data)
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    transport.close()
    http.close()
    assert failures == []
    assert len(results) == THREADS and all(r["token"] == 2 for r in results)
    assert server.refresh_calls == 1
    assert tokens.refresh_calls == 1
    assert tokens.access_token == "acc-2" and tokens.refresh_token == "ref-2"


def test_50_threads_proactive_refresh_once() -> None:
    server = RotatingServer(THREADS)
    clock = FakeClock()
    in_flight = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.path == "/v1/auth/token/refresh":
            in_flight.set()
            # Give the other 49 threads time to pile up behind the refresh lock; correctness
            # does not depend on it (late threads just find the new token), only coverage.
            threading.Event().wait(0.2)
            return server.refresh_answer(request)
        return server.handle_protected(request)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    tokens = TokenStore(config(), clock=clock)
    tokens.store(tokens_data("acc-1", "ref-1", expires_in=600), notify=False)
    clock.advance(590)  # inside the refresh margin, not yet expired
    transport = SyncTransport(config(), tokens, http_client=http, clock=clock)
    barrier = threading.Barrier(THREADS)
    failures: List[BaseException] = []
    results: List[Any] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(transport.request(prepare(GET)).data)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    transport.close()
    http.close()
    assert failures == [] and len(results) == THREADS
    assert server.refresh_calls == 1 and in_flight.is_set()
    assert server.expired_answers == 0  # nobody sent the old token after the refresh


def test_50_threads_failed_refresh_all_fail_once() -> None:
    server = RotatingServer(THREADS, reject_refresh=True)

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.path == "/v1/auth/token/refresh":
            assert server.all_expired.wait(10)
            return server.refresh_answer(request)
        return server.handle_protected(request)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    tokens = TokenStore(config(api_key=None))
    tokens.store({"access_token": "acc-0", "refresh_token": "ref-1"}, notify=False)
    transport = SyncTransport(config(api_key=None), tokens, http_client=http)
    barrier = threading.Barrier(THREADS)
    failures: List[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            transport.request(prepare(GET))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    transport.close()
    http.close()
    assert len(failures) == THREADS
    assert all(isinstance(f, FabricAuthError) for f in failures)
    assert len({id(f) for f in failures}) == THREADS  # each thread its own exception object
    assert server.refresh_calls == 1
    assert not tokens.has_session


@pytest.mark.parametrize("reject", [False, True])
def test_200_tasks_one_refresh(reject: bool) -> None:
    server = RotatingServer(TASKS, reject_refresh=reject)

    async def main() -> Dict[str, Any]:
        all_expired = asyncio.Event()

        async def handler(request: httpx.Request) -> httpx.Response:
            await request.aread()
            if request.url.path == "/v1/auth/token/refresh":
                await asyncio.wait_for(all_expired.wait(), 10)
                return server.refresh_answer(request)
            response = server.handle_protected(request)
            if server.all_expired.is_set():
                all_expired.set()
            return response

        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        cfg = config(api_key=None)
        tokens = TokenStore(cfg)
        tokens.store({"access_token": "acc-0", "refresh_token": "ref-1", "expires_in": 3600}, notify=False)
        transport = AsyncTransport(cfg, tokens, http_client=http)
        outcomes = await asyncio.gather(
            *(transport.request(prepare(GET)) for _ in range(TASKS)), return_exceptions=True
        )
        await transport.close()
        await http.aclose()
        return {"outcomes": outcomes, "tokens": tokens}

    result = asyncio.run(main())
    outcomes = result["outcomes"]
    assert server.refresh_calls == 1
    assert result["tokens"].refresh_calls == 1
    if reject:
        assert all(isinstance(o, FabricAuthError) for o in outcomes)
        assert not result["tokens"].has_session
    else:
        assert [type(o).__name__ for o in outcomes if isinstance(o, BaseException)] == []
        assert all(o.data["token"] == 2 for o in outcomes)


def test_async_lock_is_per_event_loop() -> None:
    """One store used from two successive event loops (asyncio.run twice) still works: an
    asyncio.Lock bound to a finished loop is not reused."""
    server = RotatingServer(1)
    server.generation = 1

    async def once(start: int) -> Any:
        async def handler(request: httpx.Request) -> httpx.Response:
            await request.aread()
            if request.url.path == "/v1/auth/token/refresh":
                return server.refresh_answer(request)
            return server.handle_protected(request)

        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        transport = AsyncTransport(config(), tokens, http_client=http)
        try:
            return (await transport.request(prepare(GET))).data
        finally:
            await http.aclose()

    tokens = TokenStore(config())
    tokens.store({"access_token": "acc-0", "refresh_token": "ref-1"}, notify=False)
    assert asyncio.run(once(0))["token"] == 2
    tokens.store({"access_token": "acc-stale", "refresh_token": "ref-2"}, notify=False)
    assert asyncio.run(once(1))["token"] == 3
    assert server.refresh_calls == 2

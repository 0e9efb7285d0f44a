"""The SDK's request pipeline against the real emulator: idempotent retries, Retry-After,
single-flight token refresh, revoked keys, deadlines and secret-free logs (issue 4)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from typing import Any, List

import pytest

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform.errors import FabricAuthError, FabricError, FabricTimeoutError
from fabric_platform.testing import LocalFabric

REFRESH = "POST /v1/auth/token/refresh"
PASSWORD = "s3cret-Passw0rd-for-tests"


def _signed_in(local: LocalFabric) -> FabricClient:
    fabric = FabricClient(base_url=local.base_url)
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    fabric.signup(email, PASSWORD)
    fabric.login(email, PASSWORD)
    return fabric


def test_commit_then_503_on_create_job_retries_into_exactly_one_job(fresh_fabric: LocalFabric) -> None:
    marker = uuid.uuid4().hex
    with fresh_fabric.client() as fabric:
        fresh_fabric.fail_next("POST", "/v1/jobs", 503, commit=True)
        raw = fabric.with_raw_response.create_job(modality="text", input={"prompt": marker})
        assert raw.retries_taken == 1 and raw.status_code == 200
        jobs = [j for j in fabric.iter_jobs(limit=100) if j["input"].get("prompt") == marker]
        assert [j["id"] for j in jobs] == [raw.data["id"]]


def test_commit_then_503_on_submit_run_retries_into_exactly_one_run(fresh_fabric: LocalFabric) -> None:
    marker = uuid.uuid4().hex
    with fresh_fabric.client() as fabric:
        fresh_fabric.fail_next("POST", "/v1/workflows/run", 503, commit=True)
        raw = fabric.with_raw_response.submit_run("research/trends", input={"topic": marker})
        assert raw.retries_taken == 1
        runs = [r for r in fabric.iter_runs(limit=100) if (r.get("input") or {}).get("topic") == marker]
        assert [r["id"] for r in runs] == [raw.data["id"]]


def test_async_commit_then_503_creates_exactly_one_job(fresh_fabric: LocalFabric) -> None:
    marker = uuid.uuid4().hex

    async def main() -> None:
        async with fresh_fabric.async_client() as fabric:
            fresh_fabric.fail_next("POST", "/v1/jobs", 503, commit=True, count=2)
            raw = await fabric.with_raw_response.create_job(modality="text", input={"prompt": marker})
            assert raw.retries_taken == 2
            jobs = [j async for j in fabric.iter_jobs(limit=100) if j["input"].get("prompt") == marker]
            assert [j["id"] for j in jobs] == [raw.data["id"]]

    asyncio.run(main())


def test_a_429_burst_succeeds_after_the_hinted_waits(fresh_fabric: LocalFabric) -> None:
    with fresh_fabric.client() as fabric:
        job = fabric.create_job(modality="text", input={"prompt": "hi"})
        fresh_fabric.fail_next("GET", "/v1/jobs/*", 429, count=2, retry_after=0.4)
        started = time.monotonic()
        raw = fabric.with_raw_response.get_job(job["id"])
        waited = time.monotonic() - started
        assert raw.data["id"] == job["id"] and raw.retries_taken == 2
        assert waited >= 0.8, "each 429's Retry-After (0.4 s) must be honoured"


def test_expired_token_under_50_threads_makes_exactly_one_refresh(fresh_fabric: LocalFabric) -> None:
    fabric = _signed_in(fresh_fabric)
    fabric.get_me()
    fresh_fabric.advance_time(3600)  # the access token is now expired on the server
    fresh_fabric.reset_stats()
    results: List[Any] = []
    errors: List[BaseException] = []
    barrier = threading.Barrier(50)

    def work() -> None:
        barrier.wait()
        try:
            results.append(fabric.get_me())
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    fabric.close()
    assert errors == []
    assert len(results) == 50 and all(r["authenticated"] for r in results)
    assert fresh_fabric.stats().get(REFRESH) == 1


def test_expired_token_under_200_tasks_makes_exactly_one_refresh(fresh_fabric: LocalFabric) -> None:
    async def main() -> None:
        fabric = AsyncFabricClient(base_url=fresh_fabric.base_url)
        email = f"u{uuid.uuid4().hex[:10]}@example.com"
        await fabric.signup(email, PASSWORD)
        await fabric.get_me()
        fresh_fabric.advance_time(3600)
        fresh_fabric.reset_stats()
        results = await asyncio.gather(*(fabric.get_me() for _ in range(200)))
        await fabric.close()
        assert len(results) == 200 and all(r["authenticated"] for r in results)

    asyncio.run(main())
    assert fresh_fabric.stats().get(REFRESH) == 1


def test_a_disabled_api_key_gets_an_auth_error(fabric: LocalFabric) -> None:
    with fabric.client() as owner:
        key = owner.create_api_key("short-lived", fabric.organization_id, scopes=["workflow.run"])
        with FabricClient(base_url=fabric.base_url, api_key=key["key"]) as keyed:
            assert keyed.get_me()["authenticated"]
            owner.disable_api_key(key["id"])
            with pytest.raises(FabricAuthError) as info:
                keyed.get_me()
        assert info.value.status_code == 401
        assert key["key"] not in str(info.value)


def test_the_total_deadline_bounds_retries_and_waits(fresh_fabric: LocalFabric) -> None:
    fresh_fabric.add_latency("GET", "/v1/health", 5.0)
    with fresh_fabric.client(timeout=1.0, max_retries=5) as fabric:
        started = time.monotonic()
        with pytest.raises(FabricTimeoutError):
            fabric.health_check()
        elapsed = time.monotonic() - started
    assert elapsed < 3.0, f"timeout=1 with 5 retries took {elapsed:.1f} s"


def test_debug_logs_exceptions_and_reprs_never_show_secrets(
    fresh_fabric: LocalFabric, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fabric_platform")
    secrets: List[str] = [PASSWORD, "sk-live-do-not-leak-123", "whsec_do_not_leak_456"]
    texts: List[str] = []
    fabric = _signed_in(fresh_fabric)
    secrets += [t for t in (fabric._tokens.access_token, fabric._tokens.refresh_token) if t]
    org = fresh_fabric.organization_id
    with fresh_fabric.client() as owner:
        secrets.append(fresh_fabric.api_key)
        owner.set_secret("OPENAI_API_KEY", "sk-live-do-not-leak-123")
        hook = owner.create_webhook(
            org, url="http://127.0.0.1:9/hooks", events=["job.completed"], secret="whsec_do_not_leak_456"
        )
        key = owner.create_api_key("ci", org)
        secrets.append(key["key"])
        texts += [repr(owner), repr(owner._transport), repr(owner._config), repr(hook.keys())]
        assert owner.list_secrets() == ["OPENAI_API_KEY"]
    stranger = FabricClient(base_url=fresh_fabric.base_url, api_key=key["key"] + "x")
    for bad in (lambda: fabric.login("nobody@example.com", PASSWORD), stranger.get_me):
        try:
            bad()
        except FabricError as exc:
            texts += [str(exc), repr(exc)]
    stranger.close()
    fabric.logout()
    fabric.close()
    texts += [record.getMessage() for record in caplog.records]
    assert len(caplog.records) > 10, "DEBUG logging must actually log the session"
    for secret in secrets:
        for text in texts:
            assert secret not in text

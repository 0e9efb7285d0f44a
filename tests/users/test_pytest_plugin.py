"""The pytest plugin, as a user's test session sees it: each case runs a small project with pytester.

The projects contain test files only, no conftest.py: the fixtures come from the ``pytest11``
entry point of the installed package. Each inner session runs with ``filterwarnings = error``
(as many projects do), so a leaked connection or loop would fail it, and in a process of its
own, as a user's would (in-process runs re-import the SDK's modules between sessions, and an
exception class of one import is not the class of the next).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

STRICT_INI = """
[pytest]
filterwarnings = error
asyncio_default_fixture_loop_scope = function
"""


@pytest.fixture()
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(STRICT_INI)
    return pytester


def test_fabric_is_the_owner_of_an_organization_made_for_each_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_isolation="""
        SEEN = []

        def _check(fabric, fabric_account):
            me = fabric.get_me()
            assert me["email"] == fabric_account.email and me["via"] == "access_token"
            assert fabric.organization_id == fabric_account.organization_id
            assert [o["id"] for o in fabric.list_organizations()] == [fabric.organization_id]
            assert fabric.list_workflows() == []  # nothing of another test's
            fabric.upsert_workflow(name="mine", nodes=[{"key": "a", "type": "transform", "config": {}}])
            member = fabric.list_org_members(fabric.organization_id)
            assert [m["role"] for m in member] == ["owner"]
            SEEN.append(fabric.organization_id)

        def test_one(fabric, fabric_account):
            _check(fabric, fabric_account)

        def test_two(fabric, fabric_account):
            _check(fabric, fabric_account)

        def test_each_test_had_its_own(fabric):
            assert len(set(SEEN)) == 2 and fabric.organization_id not in SEEN
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_local_fabric_is_one_server_whose_faults_and_stats_do_not_leak(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_controls="""
        import pytest
        from fabric_platform.errors import FabricServerError

        URLS = set()

        def test_leaves_faults_behind(local_fabric, fabric):
            URLS.add(local_fabric.base_url)
            local_fabric.fail_next("GET", "/v1/health", 503, count=10)
            with pytest.raises(FabricServerError):
                fabric.health_check()

        def test_starts_clean(local_fabric, fabric):
            URLS.add(local_fabric.base_url)
            assert fabric.health_check()["status"] == "ok"
            assert local_fabric.stats() == {"GET /v1/health": 1}

        def test_outbox_and_clock(local_fabric, fabric, fabric_account):
            URLS.add(local_fabric.base_url)
            fabric.forgot_password(fabric_account.email)
            mail = [m for m in local_fabric.outbox if m["to"] == fabric_account.email]
            assert [m["kind"] for m in mail] == ["verification", "password_recovery"]
            local_fabric.advance_time(3600)  # the access token expired: the client refreshes
            assert fabric.get_me()["email"] == fabric_account.email
            assert len(URLS) == 1
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_async_fabric_works_from_any_event_loop(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_loops="""
        import asyncio
        import pytest

        async def _job_events(client):
            job = await client.create_job("text", {"prompt": "hi"})
            assert job["organization_id"] == client.organization_id
            return [e["kind"] async for e in client.stream_job_events(job["id"])][-1]

        def test_asyncio_run_twice(async_fabric):
            assert asyncio.run(_job_events(async_fabric)) == "job.completed"
            assert asyncio.run(_job_events(async_fabric)) == "job.completed"  # another loop

        @pytest.mark.asyncio
        async def test_pytest_asyncio(async_fabric, fabric_account):
            assert (await async_fabric.get_me())["email"] == fabric_account.email
            assert await _job_events(async_fabric) == "job.completed"

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_anyio(async_fabric, fabric):
            # Both fixtures: the same user and organization, separate sessions.
            assert (await async_fabric.get_me())["email"] == fabric.get_me()["email"]
            assert await _job_events(async_fabric) == "job.completed"
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_options_set_the_speed_and_the_database(project: pytest.Pytester, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    project.makepyfile(
        test_options="""
        def test_options(local_fabric, fabric):
            assert local_fabric.config.speed == 400.0
            assert local_fabric.config.db_path.endswith("state.db")
            fabric.create_job("text", {"prompt": "kept"})
        """
    )
    project.runpytest_subprocess(
        "-p", "no:cacheprovider", "--fabric-speed", "400", f"--fabric-db={db}"
    ).assert_outcomes(passed=1)
    assert db.is_file() and db.stat().st_size > 0


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--fabric-speed=0", "--fabric-speed must be a number above 0, got 0"),
        ("--fabric-db=/nonexistent-dir/x.db", "the folder /nonexistent-dir does not exist"),
    ],
)
def test_a_bad_option_is_a_usage_error(project: pytest.Pytester, option: str, message: str) -> None:
    project.makepyfile("def test_nothing(): pass")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_credentials_in_the_environment_are_not_used(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FABRIC_API_KEY", "fab_live_the_users_real_key")
    project.makepyfile(
        test_env="""
        import os

        def test_session_not_key(fabric):
            assert fabric.get_me()["via"] == "access_token"
            assert os.environ["FABRIC_API_KEY"] == "fab_live_the_users_real_key"  # restored
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_without_the_emulator_extra_the_fixtures_say_what_to_install(project: pytest.Pytester) -> None:
    project.makeconftest("import sys\nsys.modules['uvicorn'] = None  # as if not installed\n")
    project.makepyfile("def test_uses_it(fabric): pass\ndef test_does_not(): pass\n")
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*needs the 'emulator' extra (missing: uvicorn)*fabric-platform[[]emulator[]]*"]
    )


@pytest.mark.parametrize(
    ("page", "heading"), [("README.md", "### pytest fixtures"), ("docs/guide/pytest-plugin.md", "# Testing")]
)
def test_the_documented_example_passes(project: pytest.Pytester, page: str, heading: str) -> None:
    text = (Path(__file__).resolve().parents[2] / page).read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    start = section.index("```python\n") + len("```python\n")
    code = section[start : section.index("\n```", start)]
    assert len([line for line in code.splitlines() if line.strip()]) <= 10 or page != "README.md"
    project.makepyfile(test_readme=code)
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)

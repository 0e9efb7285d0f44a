"""Cron schedules through the SDK: firing on the emulator clock, policies, triggers, history."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Tuple
from zoneinfo import ZoneInfo

import pytest
from conftest import unique, wait_until

from fabric_platform import FabricConflictError, FabricValidationError
from fabric_platform.testing import LocalFabric

QUICK = [{"key": "shape", "type": "transform", "config": {}}]
WAITS = [{"key": "gate", "type": "approval", "config": {}}]


@pytest.fixture()
def local(fresh_fabric: LocalFabric) -> Iterator[Tuple[LocalFabric, Any]]:
    # Each test moves the clock, so each gets its own emulator.
    with fresh_fabric.client(strict=True) as client:
        yield fresh_fabric, client


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _cron_entries(client: Any, schedule_id: str) -> List[Dict[str, Any]]:
    return [h for h in client.schedule_history(schedule_id) if h["trigger"] == "cron"]


def test_a_cron_schedule_fires_after_advance_time(local: Tuple[LocalFabric, Any]) -> None:
    fabric, client = local
    workflow_id = client.upsert_workflow(unique("nightly"), QUICK)
    schedule = client.create_schedule(workflow_id, "0 * * * *", input_context={"topic": "cron"})
    assert schedule["enabled"] is True and schedule["concurrency_policy"] == "allow"
    next_run = _parse(schedule["next_run_at"])
    assert next_run.minute == 0 and next_run > fabric.emulator.clock.now()
    assert client.schedule_history(schedule["id"]) == []  # nothing before its time

    # Three hours pass at once: the schedule fires (once: missed firings are coalesced).
    fabric.advance_time(3 * 3600)
    (entry,) = wait_until(lambda: _cron_entries(client, schedule["id"]), what="the cron firing")
    run = client.wait_for_run(entry["run_id"], poll_interval=0.02, timeout=30)
    assert run["status"] == "completed"
    assert run["workflow_definition_id"] == workflow_id and run["input"] == {"topic": "cron"}
    assert run["metadata"]["schedule_id"] == schedule["id"]
    after = client.get_schedule(schedule["id"])
    assert after["last_run_at"] is not None
    assert _parse(after["next_run_at"]) > fabric.emulator.clock.now()
    assert len(_cron_entries(client, schedule["id"])) == 1

    # The next hour fires again.
    fabric.advance_time(3600)
    wait_until(lambda: len(_cron_entries(client, schedule["id"])) == 2, what="the second firing")


def test_disabled_schedules_do_not_fire(local: Tuple[LocalFabric, Any]) -> None:
    fabric, client = local
    workflow_id = client.upsert_workflow(unique("paused"), QUICK)
    disabled = client.create_schedule(workflow_id, "*/10 * * * *")
    disabled = client.update_schedule(disabled["id"], enabled=False)
    assert disabled["enabled"] is False and disabled["next_run_at"] is None
    marker = client.create_schedule(workflow_id, "*/10 * * * *")
    fabric.advance_time(1800)
    # Both were due in the same scheduler pass; the marker firing proves the pass happened.
    wait_until(lambda: _cron_entries(client, marker["id"]), what="the enabled schedule to fire")
    assert client.schedule_history(disabled["id"]) == []
    # Re-enabled, it fires on its next time.
    assert client.update_schedule(disabled["id"], enabled=True)["next_run_at"] is not None
    fabric.advance_time(600)
    wait_until(lambda: _cron_entries(client, disabled["id"]), what="the re-enabled schedule to fire")


def test_trigger_and_history_list_both_kinds(local: Tuple[LocalFabric, Any]) -> None:
    fabric, client = local
    workflow_id = client.upsert_workflow(unique("both"), QUICK)
    schedule = client.create_schedule(workflow_id, "0 0 * * *", input_context={"n": 1})
    manual = client.trigger_schedule(schedule["id"])
    assert manual["schedule_id"] == schedule["id"]
    fabric.advance_time(24 * 3600)
    wait_until(lambda: _cron_entries(client, schedule["id"]), what="the daily firing")
    history = client.schedule_history(schedule["id"])
    assert [h["trigger"] for h in history] == ["cron", "manual"]  # newest first
    assert history[1]["run_id"] == manual["run_id"]
    assert all(h["status"] in ("pending", "running", "completed") for h in history)
    assert client.get_run(manual["run_id"])["input"] == {"n": 1}


def test_concurrency_policies(local: Tuple[LocalFabric, Any]) -> None:
    fabric, client = local
    workflow_id = client.upsert_workflow(unique("gated"), WAITS)

    forbid = client.create_schedule(workflow_id, "0 * * * *", concurrency_policy="forbid")
    first = client.trigger_schedule(forbid["id"])
    wait_until(lambda: client.get_run(first["run_id"])["status"] == "waiting", what="the run to wait")
    with pytest.raises(FabricConflictError) as refused:
        client.trigger_schedule(forbid["id"])
    assert "forbid" in refused.value.message

    replace = client.create_schedule(workflow_id, "0 * * * *", concurrency_policy="replace")
    old = client.trigger_schedule(replace["id"])
    wait_until(lambda: client.get_run(old["run_id"])["status"] == "waiting", what="the run to wait")
    new = client.trigger_schedule(replace["id"])
    assert client.get_run(old["run_id"])["status"] == "cancelled"
    assert client.get_run(new["run_id"])["status"] in ("pending", "running", "waiting")

    allow = client.create_schedule(workflow_id, "0 * * * *")
    runs = {client.trigger_schedule(allow["id"])["run_id"] for _ in range(2)}
    assert len(runs) == 2

    # When the hour comes, the forbid schedule skips (its run still waits); the others fire.
    fabric.advance_time(3600)
    wait_until(lambda: _cron_entries(client, allow["id"]), what="the allow schedule to fire")
    wait_until(lambda: _cron_entries(client, replace["id"]), what="the replace schedule to fire")
    assert _cron_entries(client, forbid["id"]) == []
    assert client.get_run(new["run_id"])["status"] == "cancelled"  # replaced by the cron run


def test_time_zones_and_dst(local: Tuple[LocalFabric, Any]) -> None:
    fabric, client = local
    workflow_id = client.upsert_workflow(unique("tz"), QUICK)
    schedule = client.create_schedule(workflow_id, "30 9 * * *", timezone="America/New_York")
    local_time = _parse(schedule["next_run_at"]).astimezone(ZoneInfo("America/New_York"))
    assert (local_time.hour, local_time.minute) == (9, 30)
    assert local_time > fabric.emulator.clock.now()
    # A local 02:30 on the spring-forward night does not exist: cron runs at 03:00 there.
    later = client.update_schedule(schedule["id"], cron_expression="30 2 * * *", timezone="Europe/Berlin")
    assert later["timezone"] == "Europe/Berlin"
    when = _parse(later["next_run_at"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert (when.hour, when.minute) in ((2, 30), (3, 0))


def test_invalid_schedules_are_400s_naming_the_problem(local: Tuple[LocalFabric, Any]) -> None:
    _, client = local
    workflow_id = client.upsert_workflow(unique("bad"), QUICK)
    cases = {
        "61 * * * *": "minute",
        "* 24 * * *": "hour",
        "* * * 13 *": "month",
        "* * *": "5 fields",
        "@fortnightly": "nickname",
    }
    for expression, problem in cases.items():
        with pytest.raises(FabricValidationError) as bad:
            client.create_schedule(workflow_id, expression)
        assert problem in bad.value.message and "cron_expression" in bad.value.message, bad.value.message
    with pytest.raises(FabricValidationError) as bad_tz:
        client.create_schedule(workflow_id, "0 9 * * *", timezone="Mars/Olympus_Mons")
    assert "Mars/Olympus_Mons" in bad_tz.value.message
    schedule = client.create_schedule(workflow_id, "@daily")
    assert schedule["cron_expression"] == "@daily"
    with pytest.raises(FabricValidationError):
        client.update_schedule(schedule["id"], cron_expression="0 0 32 * *")
    client.delete_schedule(schedule["id"])
    assert all(s["id"] != schedule["id"] for s in client.list_schedules(workflow_id))


def test_dst_helper_matches_zoneinfo() -> None:
    from fabric_platform.testing._domain.scheduler import next_fire

    after = datetime(2026, 3, 28, 12, 0, tzinfo=timezone.utc)
    fired = _parse(next_fire("30 2 * * *", "Europe/Berlin", after))
    # 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 → 03:00 CEST = 01:00 UTC).
    assert fired == datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)

"""Cron schedules that fire by themselves on the emulator clock.

Cron semantics come from ``croniter`` (standard five-field expressions plus the ``@hourly``
style nicknames), evaluated in the schedule's IANA time zone so DST transitions behave like
cron does there (a 02:30 job on a spring-forward night runs at 03:00). ``next_run_at`` is
stored in UTC.

One asyncio task per emulator sleeps until the earliest ``next_run_at`` and fires what is due.
``LocalFabric.advance_time`` wakes it at once through ``Clock.on_advance``, so a test that jumps
past a schedule's time sees the run without waiting. Missed firings are coalesced: however far
the clock jumps (or however long a file-backed emulator was stopped), a due schedule fires
once and its next time is computed from *now* — what most cron daemons do after downtime.

``concurrency_policy`` decides what a firing does while an earlier run of the same schedule is
still active: ``allow`` (default) starts another, ``forbid`` skips the firing (a manual trigger
gets 409), ``replace`` cancels the active run(s) first.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .._engine.engine import DEFINITIONS
from .._infra.clock import iso, parse_iso
from .._infra.http import ApiError

if TYPE_CHECKING:
    from .._state import Emulator

log = logging.getLogger(__name__)

SCHEDULES = "schedules"
SCHEDULE_RUNS = "schedule_runs"
POLICIES = ("allow", "forbid", "replace")
FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
NICKNAMES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_TERMINAL = frozenset({"completed", "failed", "cancelled"})
# Upper bound of one sleep: a safety net against clock drift, not what makes schedules fire.
_MAX_SLEEP = 30.0


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(
        400, "validation_error", f"{field}: {message}", {"errors": [{"path": field, "message": message}]}
    )


def check_cron(expression: Any) -> str:
    """The expression, normalised; a 400 that names the offending field otherwise."""
    from croniter import croniter

    if not isinstance(expression, str) or not expression.strip():
        raise _invalid("cron_expression", "must be a non-empty string")
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text.lower() not in NICKNAMES:
            raise _invalid(
                "cron_expression", f"unknown nickname {text!r} (use one of {', '.join(sorted(NICKNAMES))})"
            )
        return text.lower()
    fields = text.split(" ")
    if len(fields) != 5:
        raise _invalid(
            "cron_expression",
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)} in {text!r}",
        )
    # Check each field alone (the others "*") so the message says which one is wrong.
    for index, value in enumerate(fields):
        probe = ["*"] * 5
        probe[index] = value
        if not croniter.is_valid(" ".join(probe)):
            raise _invalid(
                "cron_expression", f"the {FIELD_NAMES[index]} field {value!r} is not valid in {text!r}"
            )
    if not croniter.is_valid(text):
        raise _invalid("cron_expression", f"{text!r} is not a valid cron expression")
    return text


def check_timezone(name: Any) -> str:
    from zoneinfo import ZoneInfo

    if not isinstance(name, str) or not name:
        raise _invalid("timezone", "must be an IANA time zone name such as 'UTC' or 'Europe/Berlin'")
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise _invalid("timezone", f"unknown time zone {name!r}") from None
    return name


def check_policy(policy: Any) -> str:
    if policy not in POLICIES:
        raise _invalid("concurrency_policy", f"must be one of {', '.join(POLICIES)}")
    return str(policy)


def next_fire(expression: str, tz_name: str, after: datetime) -> str:
    """The first firing strictly after ``after``, as an emulator ISO time (UTC)."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    local = after.astimezone(ZoneInfo(tz_name))
    moment = croniter(expression, local).get_next(datetime)
    return iso(moment.astimezone(timezone.utc))


class Scheduler:
    """Fires due schedules; one per emulator (``emulator.scheduler``)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._wake: Optional[asyncio.Event] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._task: Optional[asyncio.Task[None]] = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the firing loop on the running loop (called from the routes' on_startup)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.emulator.clock.on_advance(self._on_advance)
        self._task = self.emulator.spawn(self._run(), name="scheduler")

    def _on_advance(self, _seconds: float) -> None:
        # Called on whichever thread advanced the clock; the event belongs to the loop.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.wake)

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while not self.emulator.closing:
            self._wake.clear()
            try:
                self.fire_due()
            except Exception:  # one bad schedule must not stop the others for good
                log.exception("scheduler pass failed")
            delay = self._seconds_to_next()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass

    def _seconds_to_next(self) -> float:
        upcoming = [
            s["next_run_at"]
            for s in self.emulator.store.find(SCHEDULES, where={"enabled": True})
            if s.get("next_run_at")
        ]
        if not upcoming:
            return _MAX_SLEEP
        wait = (parse_iso(min(upcoming)) - self.emulator.clock.now()).total_seconds()
        return min(_MAX_SLEEP, max(0.01, wait))

    # ------------------------------------------------------------------ firing
    def fire_due(self) -> int:
        """Fire every enabled schedule whose time has come; returns how many fired."""
        now = self.emulator.clock.now()
        now_iso = iso(now)
        due = self.emulator.store.find(
            SCHEDULES,
            where=lambda d: (
                bool(d.get("enabled")) and bool(d.get("next_run_at")) and d["next_run_at"] <= now_iso
            ),
        )
        fired = 0
        for schedule in due:
            # Move next_run_at first: a failing firing must not be retried in a tight loop.
            self.emulator.store.update(
                SCHEDULES,
                schedule["id"],
                next_run_at=next_fire(schedule["cron_expression"], schedule["timezone"], now),
            )
            try:
                if self.fire(schedule, "cron") is not None:
                    fired += 1
            except ApiError as err:
                # e.g. the budget is exhausted or the definition is gone: keep the reason visible.
                self.emulator.store.update(SCHEDULES, schedule["id"], last_error=err.message)
                log.info("schedule %s did not fire: %s", schedule["id"], err.message)
        return fired

    def active_runs(self, schedule_id: str) -> List[Dict[str, Any]]:
        engine = self.emulator.engine
        runs = []
        for entry in self.emulator.store.find(SCHEDULE_RUNS, where={"schedule_id": schedule_id}):
            run = engine.get(entry["run_id"])
            if run is not None and run["status"] not in _TERMINAL:
                runs.append(run)
        return runs

    def fire(self, schedule: Dict[str, Any], trigger: str) -> Optional[Dict[str, Any]]:
        """Start a run for ``schedule``; returns the history entry, or None when skipped.

        Raises ApiError for a manual trigger that cannot run (409 under ``forbid``, 403 over
        budget, 404 when the definition is gone).
        """
        emulator = self.emulator
        engine = emulator.engine
        store = emulator.store
        definition = store.get(DEFINITIONS, schedule["workflow_definition_id"])
        if definition is None:
            raise ApiError(404, "not_found", "the schedule's workflow definition no longer exists")
        policy = schedule.get("concurrency_policy") or "allow"
        active = self.active_runs(schedule["id"]) if policy != "allow" else []
        if active and policy == "forbid":
            if trigger == "manual":
                raise ApiError(
                    409,
                    "conflict",
                    f"the schedule's previous run {active[0]['id']} is still {active[0]['status']} "
                    "and its concurrency_policy is 'forbid'",
                )
            log.info("schedule %s skipped: previous run still active (forbid)", schedule["id"])
            return None
        for run in active:  # replace
            engine.cancel(run["id"], f"replaced by a newer run of schedule {schedule['id']}")
        now = emulator.clock.now_iso()
        run = engine.create_definition_run(
            definition,
            context=dict(schedule.get("input_context") or {}),
            metadata={"schedule_id": schedule["id"], "trigger": trigger},
            created_by=schedule.get("created_by"),
        )
        engine.start_run(run["id"])
        entry = {
            "id": str(uuid.uuid4()),
            "organization_id": schedule["organization_id"],
            "schedule_id": schedule["id"],
            "run_id": run["id"],
            "triggered_at": now,
            "trigger": trigger,
        }
        store.insert(SCHEDULE_RUNS, entry)
        store.update(SCHEDULES, schedule["id"], last_run_at=now, last_error=None)
        emulator.events.publish(
            "schedule.triggered",
            organization_id=schedule["organization_id"],
            run_id=run["id"],
            data={
                "schedule_id": schedule["id"],
                "workflow_definition_id": schedule["workflow_definition_id"],
                "trigger": trigger,
            },
        )
        return entry


def scheduler_of(emulator: Emulator) -> Scheduler:
    if emulator.scheduler is None:
        emulator.scheduler = Scheduler(emulator)
    return emulator.scheduler

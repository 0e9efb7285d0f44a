"""Concurrency limits (``concurrency_limits``): per organization, else the global row.

``can_start`` is the run engine's concurrency policy (given to it at construction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._state import Emulator

LIMITS = "concurrency_limits"


# --------------------------------------------------------------------------- concurrency
GLOBAL = "global"


def can_start(emulator: Emulator, org_id: str) -> bool:
    """The engine's ``can_start`` hook: is the organization below its run limit?"""
    doc = emulator.store.get(LIMITS, org_id) or emulator.store.get(LIMITS, GLOBAL)
    limit = doc.get("max_concurrent_runs") if doc else None
    if limit is None:
        return True
    engine = emulator.engine
    # Runs handed to a task in this very pump are not "running" in the store yet: count both.
    active = {
        r["id"] for r in emulator.store.find("workflow_runs", org_id=org_id, where={"status": "running"})
    }
    for run_id, task in list(engine._tasks.items()):
        if not task.done() and run_id not in active:
            run = emulator.store.get("workflow_runs", run_id)
            if (
                run is not None
                and run["organization_id"] == org_id
                and run["status"] in ("pending", "running")
            ):
                active.add(run_id)
    return len(active) < int(limit)

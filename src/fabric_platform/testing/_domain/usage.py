"""Usage aggregates and the budget check for run submissions.

Every figure is computed from the ``usage_records`` that jobs and runs write (one per provider
call / finished variant), so totals, daily aggregates, spending and the budget always agree
with the records a client can page through. Periods are calendar months in UTC on the
emulator clock.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .._engine.estimates import estimate
from .._infra.clock import iso

if TYPE_CHECKING:
    from .._state import Emulator

USAGE = "usage_records"


def month_bounds(now: datetime) -> Tuple[str, str]:
    """(first instant of this month, first instant of the next), as emulator ISO strings."""
    start = now.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return iso(start), iso(end)


def records(
    emulator: Emulator, org_id: str, start: Optional[str] = None, end: Optional[str] = None
) -> List[Dict[str, Any]]:
    """The organization's usage records (oldest first), optionally within [start, end)."""
    docs = emulator.store.find(USAGE, org_id=org_id)
    if start is not None or end is not None:
        docs = [
            d
            for d in docs
            if (start is None or d["created_at"] >= start) and (end is None or d["created_at"] < end)
        ]
    return docs


def _cost(docs: List[Dict[str, Any]]) -> float:
    # Rounded only to drop float noise: records may hold sub-micro-dollar costs.
    return round(sum(float(d.get("cost_usd") or 0) for d in docs), 9)


def org_usage(emulator: Emulator, org_id: str) -> Dict[str, Any]:
    start, end = month_bounds(emulator.clock.now())
    docs = records(emulator, org_id, start, end)
    return {
        "organization_id": org_id,
        "total_runs": len({d["run_id"] for d in docs if d.get("run_id")}),
        "total_jobs": len({d["job_id"] for d in docs if d.get("job_id")}),
        "total_cost_usd": _cost(docs),
        "total_records": len(docs),
        "period_start": start,
        "period_end": end,
    }


def daily(emulator: Emulator, org_id: str) -> List[Dict[str, Any]]:
    """One entry per UTC day that has usage, oldest first."""
    days: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
    for doc in records(emulator, org_id):
        days[doc["created_at"][:10]].append(doc)
    return [
        {
            "date": day,
            "runs": len({d["run_id"] for d in docs if d.get("run_id")}),
            "jobs": len({d["job_id"] for d in docs if d.get("job_id")}),
            "cost_usd": _cost(docs),
        }
        for day, docs in sorted(days.items())
    ]


def spending(emulator: Emulator, org_id: str) -> Dict[str, Any]:
    """Month-to-date spend; ``by_workflow`` adds up to it (jobs appear as ``job:<modality>``)."""
    start, end = month_bounds(emulator.clock.now())
    docs = records(emulator, org_id, start, end)
    names: Dict[str, str] = {}
    by: Dict[str, float] = defaultdict(float)
    for doc in docs:
        if doc.get("run_id"):
            run_id = doc["run_id"]
            if run_id not in names:
                run = emulator.store.get("workflow_runs", run_id) or {}
                names[run_id] = run.get("workflow_name") or run.get("workflow_definition_id") or "unknown"
            key = names[run_id]
        else:
            key = f"job:{doc.get('modality') or 'unknown'}"
        by[key] += float(doc.get("cost_usd") or 0)
    return {
        "organization_id": org_id,
        "month_to_date_usd": _cost(docs),
        "by_workflow": {k: round(v, 9) for k, v in sorted(by.items())},
        "period_start": start,
        "period_end": end,
    }


def estimate_run_cost(emulator: Emulator, org_id: str, workflow_name: Optional[str], data: Any) -> float:
    """What a named run is expected to cost (0 when it cannot be priced, e.g. definition runs)."""
    if not workflow_name:
        return 0.0
    try:
        result = estimate(
            emulator.store, org_id, workflow_name, {"input": data if isinstance(data, dict) else {}}
        )
    except Exception:  # unpriceable (e.g. invalid) input: the run's own validation reports it
        return 0.0
    return float(result.get("total_estimated_usd") or 0.0)

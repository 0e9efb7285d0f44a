"""Monthly budgets: this month's spend against the organization's limit.

``admit_run`` is the run engine's admission policy (given to it at construction): a run whose
estimated cost would exceed the budget is refused before it is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from .._infra.http import ApiError
from .usage import estimate_run_cost

if TYPE_CHECKING:
    from .._state import Emulator


def month_spend(emulator: Emulator, org_id: str) -> float:
    month = emulator.clock.now_iso()[:7]
    records = emulator.store.find("usage_records", org_id=org_id)
    return round(
        sum(float(r.get("cost_usd") or 0) for r in records if str(r.get("created_at", "")).startswith(month)),
        6,
    )


def budget_for(emulator: Emulator, org_id: str) -> Dict[str, Any]:
    stored = emulator.store.get("org_budgets", org_id) or {}
    return {
        "organization_id": org_id,
        "monthly_limit_usd": stored.get("monthly_limit_usd"),
        "current_spend_usd": month_spend(emulator, org_id),
    }


def check_budget(emulator: Emulator, org_id: str, extra_cost: float = 0.0) -> None:
    """Refuse spending (403 ``budget_exceeded``) once this month's spend reaches the limit."""
    budget = budget_for(emulator, org_id)
    limit = budget["monthly_limit_usd"]
    spent = budget["current_spend_usd"]
    if limit is not None and (spent >= limit or spent + extra_cost > limit):
        raise ApiError(
            403,
            "budget_exceeded",
            f"The organization's monthly budget of ${limit:.2f} is exhausted "
            f"(spent ${budget['current_spend_usd']:.4f}).",
            {"monthly_limit_usd": limit, "current_spend_usd": budget["current_spend_usd"]},
        )


def admit_run(emulator: Emulator, org_id: str, workflow_name: Optional[str], data: Any) -> None:
    """Refuse (403 ``budget_exceeded``) a run whose estimated cost would exceed the budget."""
    if budget_for(emulator, org_id)["monthly_limit_usd"] is None:
        return  # no limit: skip pricing the run
    check_budget(emulator, org_id, estimate_run_cost(emulator, org_id, workflow_name, data))

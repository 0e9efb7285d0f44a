"""Pricing a run without running it (``POST /v1/workflows/estimate``, and budgets).

The built-ins' pricing is deterministic in their input, so an estimate runs the workflow's
pricing on the input (missing fields taken from its example input) and scales it by the cost
profile.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .._infra.http import ApiError
from .named import BUNDLE, resolve
from .registry import field_error

_PROFILES = {"economy": 0.6, "standard": 1.0, "balanced": 1.0, "premium": 1.8}


def _profile_factor(profile: Any) -> float:
    if profile is None:
        return 1.0
    if isinstance(profile, str):
        if profile not in _PROFILES:
            raise field_error("cost_profile", f"unknown profile {profile!r} (known: {', '.join(_PROFILES)})")
        return _PROFILES[profile]
    if isinstance(profile, dict):
        factor = profile.get("multiplier", 1.0)
        if profile.get("name") is not None or profile.get("profile") is not None:
            factor = _profile_factor(profile.get("name") or profile.get("profile")) * (
                factor if isinstance(factor, (int, float)) and not isinstance(factor, bool) else 1.0
            )
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0:
            raise field_error("cost_profile.multiplier", "must be a positive number")
        return float(factor)
    raise field_error("cost_profile", "must be a profile name or an object")


def estimate(store: Any, org_id: str, name: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Price a run without running it: the built-ins' pricing is deterministic in their input.

    Missing input fields are taken from the workflow's example input, so a partial input (or
    none) still gets an estimate; an input that is still invalid is a 400.
    """
    factor = _profile_factor(body.get("cost_profile"))
    data = body.get("input")
    if data is not None and not isinstance(data, dict):
        raise field_error("input", "must be an object or null")
    data = dict(data or {})
    # (label, workflow name, input, copies); a single workflow has no label of its own.
    parts: List[Tuple[Optional[str], Any, Any, int]]
    if name == BUNDLE:
        items = data.get("bundle")
        if not isinstance(items, list) or not items:
            raise field_error("input.bundle", "a bundle estimate needs input.bundle = [{workflow, input}]")
        parts = [
            (f"{i}:{it.get('workflow')}", it.get("workflow"), it.get("input") or {}, 1)
            for i, it in enumerate(items)
            if isinstance(it, dict)
        ]
    else:
        variants = data.pop("variants", 1)
        if isinstance(variants, bool) or not isinstance(variants, int) or not 1 <= variants <= 10:
            raise field_error("input.variants", "must be an integer from 1 to 10")
        parts = [(None, name, data, variants)]
    per_node: Dict[str, float] = {}
    total = 0.0
    for label, wf_name, wf_input, copies in parts:
        wf = resolve(store, org_id, wf_name) if isinstance(wf_name, str) else None
        if wf is None:
            raise ApiError(
                404 if label is None else 400,
                "not_found" if label is None else "validation_error",
                f"no workflow named {wf_name!r}",
            )
        example = (
            wf.builtin.example_input if wf.builtin is not None else (wf.entry or {}).get("example_input")
        ) or {}
        merged = {**example, **wf_input}
        errors = wf.validate(merged)
        if errors:
            raise ApiError(
                400,
                "validation_error",
                "input does not match the workflow's input schema",
                {"errors": errors},
            )
        cost = wf.run(merged, variant_index=0, store=store, org_id=org_id).cost_usd * copies * factor
        share = cost / max(1, len(wf.tasks))
        for task in wf.tasks:
            key = f"{label}.{task}" if label else task
            per_node[key] = round(per_node.get(key, 0.0) + share, 6)
        total += cost
    return {
        "total_estimated_usd": round(total, 6),
        "per_node": per_node,
        "best_case_usd": round(total * 0.8, 6),
        "worst_case_usd": round(total * 1.5, 6),
        "source": "emulator-pricing",
    }

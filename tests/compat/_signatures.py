"""Compare a public release's method signatures (dumped as JSON) with one of our clients."""

from __future__ import annotations

import inspect
from typing import Any, Dict, List, Optional

POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


def resolve(client: Any, dotted: str) -> Optional[Any]:
    target = client
    for part in dotted.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def incompatibility(public: List[Dict[str, Any]], ours: Any) -> Optional[str]:
    """Why a call written for ``public`` could fail on ``ours`` (None when every such call works).

    A call may pass the public positional parameters by position (same order here) and any
    public parameter by keyword; ours may add parameters only with defaults (or keyword-only
    with defaults). A public ``**kwargs`` needs one here too.
    """
    try:
        params = list(inspect.signature(ours).parameters.values())
    except (TypeError, ValueError):
        return "no signature"
    mine = {p.name: p for p in params}
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
    my_positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    their_positional = [p["name"] for p in public if p["kind"] in POSITIONAL]
    if my_positional[: len(their_positional)] != their_positional:
        return f"positional order {their_positional} expected, ours {my_positional}"
    for p in public:
        if p["kind"] == "VAR_KEYWORD" and not var_kw:
            return "takes **kwargs in the public release"
        if p["kind"] in ("VAR_KEYWORD", "VAR_POSITIONAL"):
            continue
        if p["name"] not in mine and not var_kw:
            return f"no parameter {p['name']!r}"
    names = {p["name"] for p in public}
    for p in params:
        if p.name not in names and p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            return f"our extra parameter {p.name!r} is required"
        if (
            p.name in names
            and p.default is p.empty
            and any(q["name"] == p.name and q["has_default"] for q in public)
        ):
            return f"{p.name!r} is optional in the public release, required here"
    return None

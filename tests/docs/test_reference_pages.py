"""Every public name of the package has a reference page, rendered from its docstrings."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Set

import fabric_platform

ROOT = Path(__file__).resolve().parents[2]
_DIRECTIVE = re.compile(r"^::: ([\w.]+)((?:\n    .*)*)", re.M)


def documented() -> Set[str]:
    """The names the `::: target` directives of docs/reference/ render."""
    names: Set[str] = set()
    for page in (ROOT / "docs" / "reference").glob("*.md"):
        for target, options in _DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            attr = target.rpartition(".")[2]
            try:
                obj = importlib.import_module(target)
            except ImportError:
                names.add(attr)
                continue
            listed = re.search(r"members: \[([^\]]*)\]", options)
            members = (
                [m.strip() for m in listed.group(1).split(",")] if listed else getattr(obj, "__all__", [])
            )
            names.update(members)
    return names


def test_every_public_name_has_a_reference_entry() -> None:
    public = {name for name in fabric_platform.__all__ if not name.startswith("_")}
    missing = sorted(public - documented())
    assert not missing, (
        f"no reference page renders {missing}: add a `::: fabric_platform.X` to docs/reference/"
    )

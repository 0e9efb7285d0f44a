"""The documentation's snippets as one module a type checker can read (used by run.py).

Each runnable snippet of ``tests/integration/seed_snippets.py`` becomes a function whose
parameters are the names the documentation leaves to the reader (``fabric``, ``run_id``,
``refresh_token``...), typed as the SDK returns them. The snippets stay verbatim; only the
``{...}`` placeholder becomes ``{}``, as in the conformance run.

A few lines are rejected by strict checkers, and rightly so: they index what the spec says
may be null (a run's ``output`` before it completes; an error's ``response`` when it was not
built from one). They are listed in ``EXPECTED``; any other error fails the suite.
"""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from typing import List, Set, Tuple

SNIPPETS_FILE = Path(__file__).resolve().parents[1] / "integration" / "seed_snippets.py"
PARAMETERS = (
    "fabric: FabricClient, refresh_token: str, recovery_token: str, run_id: str, run_id_1: str, "
    "run_id_2: str, prior_run: types.Run, job_id: str, gallery_id: str, wf_id: str, org: types.Organization"
)
HEADER = """\
# pyright: reportUnusedVariable=false
from __future__ import annotations

from fabric_platform import FabricClient
from fabric_platform_api import types
"""
# (snippet, line): the lines that index an Optional value, per the spec.
EXPECTED: List[Tuple[str, str]] = [
    ("validate", "body = e.response.json()"),
    ("face_swap", 'print(result["output"]["face_swap_url"])'),
    ("motion_transfer", 'print(result["output"]["motion_transfer_url"])'),
]


def write(path: Path) -> Set[int]:
    """Write the module to ``path``; returns the line numbers of the EXPECTED errors."""
    spec = importlib.util.spec_from_file_location("seed_snippets", SNIPPETS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = HEADER.splitlines()
    expected: Set[int] = set()
    for snippet in module.SNIPPETS:
        if snippet.kind != "run":
            continue
        lines += ["", "", f"def {snippet.name}({PARAMETERS}) -> None:"]
        for code in textwrap.indent(snippet.code.replace("{...}", "{}"), "    ").splitlines():
            lines.append(code)
            if (snippet.name, code.strip()) in EXPECTED:
                expected.add(len(lines))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(expected) == len(EXPECTED), "an EXPECTED line is no longer in its snippet"
    return expected

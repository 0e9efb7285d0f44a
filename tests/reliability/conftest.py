"""Reliability scenarios: sizes, the ``figures`` fixture, and the RELIABILITY.md writer.

``FABRIC_RELIABILITY_SIZE=reduced`` (the default, what ``make test`` runs) or ``full``
(``make reliability``). With ``FABRIC_RELIABILITY_REPORT=<path>`` the session ends by writing
the table of every scenario's figures to that file, failures included.
"""

from __future__ import annotations

import datetime
import os
import platform
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from ._support import SIZE, Figures

_ROWS: List[Dict[str, Any]] = []


@pytest.fixture()
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    """The test fills it; it becomes one row of RELIABILITY.md."""
    marker = request.node.get_closest_marker("scenario")
    title = marker.args[0] if marker else request.node.name
    fig = Figures(scenario=title)
    started = time.monotonic()
    yield fig
    _ROWS.append({"node": request.node, "figures": fig, "seconds": time.monotonic() - started})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    # The row shows "failed" if any phase failed, else the outcome of the test itself.
    if getattr(item, "_fabric_outcome", None) != "failed" and (report.when == "call" or report.failed):
        item._fabric_outcome = report.outcome  # type: ignore[attr-defined]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario(title): the row title of a reliability scenario")


def _fmt(value: Optional[int]) -> str:
    return "—" if value is None else f"{value:,}"


def _fmt_bytes(value: Optional[int]) -> str:
    if value is None:
        return "—"
    if abs(value) < 1024 * 1024:
        return f"{value / 1024:,.0f} KiB"
    return f"{value / (1024 * 1024):,.1f} MiB"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("FABRIC_RELIABILITY_REPORT")
    if not target or not _ROWS:
        return
    lines = [
        "# RELIABILITY",
        "",
        "Produced by `make reliability` (the scenarios of `tests/reliability/` at full size; "
        "`make test` runs them reduced). Each row is one test against a real emulator over HTTP "
        "on 127.0.0.1, or against the misbehaving server of `tests/reliability/_bad_server.py`.",
        "",
        f"Size: **{SIZE}** · {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC · "
        f"Python {platform.python_version()} · {platform.system()} {platform.machine()} · "
        f"{os.cpu_count()} CPUs",
        "",
        "| scenario | calls made | faults injected | retries | duplicates found | events lost "
        "| max memory growth | time | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    notes: List[str] = []
    for row in sorted(_ROWS, key=lambda r: (r["figures"].scenario, r["node"].nodeid)):
        fig: Figures = row["figures"]
        outcome = getattr(row["node"], "_fabric_outcome", "not run")
        result = {"passed": "pass", "failed": "**FAIL**"}.get(outcome, outcome)
        lines.append(
            f"| {fig.scenario} | {_fmt(fig.calls)} | {_fmt(fig.faults)} | {_fmt(fig.retries)} | "
            f"{_fmt(fig.duplicates)} | {_fmt(fig.lost)} | {_fmt_bytes(fig.memory_growth)} | "
            f"{row['seconds']:.1f} s | {result} |"
        )
        for note in fig.notes:
            notes.append(f"* **{fig.scenario}** — {note}")
    lines += [
        "",
        "Calls made: logical SDK calls (a call and its retries count once; a stream event "
        "counts as one). Retries: repeated attempts (HTTP retries and stream reconnects). "
        "Duplicates / events lost: checked against the server's own records. "
        "Memory growth: tracemalloc, largest growth over the baseline seen during the run.",
        "",
        "## Notes",
        "",
        *notes,
        "",
    ]
    Path(target).write_text("\n".join(lines), encoding="utf-8")

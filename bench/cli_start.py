"""Start-up of the ``fabric`` command: wall time of ``fabric --help`` / ``--version``.

Each measurement is a fresh process timed from spawn to exit (interpreter start-up
included), interleaved round by round with ``python -c "import httpx"``: the command line
should start about as fast as a program that merely imports the HTTP library (target
≤ 1.5×). The command is run through its installed console script (``.venv/bin/fabric``)
when there is one, else as ``python -m fabric_platform``.

httpx imports its own command line (click, rich, pygments) when those are installed, and
the ``cli`` extra installs them; so the baseline is measured twice, as installed and with
httpx's CLI blocked (what a plain ``pip install httpx`` pays).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from typing import Dict, List

from _common import ROOT, Row, Summary, command, interleave, log, python, ratios
from imports import _env  # the same bytecode-cache set-up as the import rows

_BLOCK_CLI = "import sys; sys.modules['httpx._main'] = None; import httpx"


def _fabric() -> List[str]:
    script = os.path.join(os.path.dirname(python()), "fabric")
    if os.path.exists(script):
        return [script]
    found = shutil.which("fabric")
    return [found] if found else [python(), "-m", "fabric_platform"]


def wall_ms(argv: List[str]) -> float:
    """Milliseconds from spawning ``argv`` to its exit (it must succeed)."""
    started = time.perf_counter()
    subprocess.run(
        argv,
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=60,
    )
    return (time.perf_counter() - started) * 1000.0


def run(smoke: bool) -> List[Row]:
    rounds = 2 if smoke else int(os.environ.get("BENCH_ROUNDS", 25))
    fabric = _fabric()
    contenders = {
        "help": lambda: wall_ms([*fabric, "--help"]),
        "version": lambda: wall_ms([*fabric, "--version"]),
        "httpx": lambda: wall_ms([python(), "-c", "import httpx"]),
        "httpx_plain": lambda: wall_ms([python(), "-c", _BLOCK_CLI]),
    }
    for measure in contenders.values():  # warm the bytecode cache
        measure()
    log(f"cli_start: {rounds} rounds of {', '.join(contenders)}")
    res: Dict[str, List[float]] = interleave(rounds, contenders)
    rows: List[Row] = []
    shown = " ".join(os.path.basename(part) for part in fabric)
    for name in ("help", "version"):
        for base, label in (
            ("httpx", "as installed (httpx imports rich/click)"),
            ("httpx_plain", "httpx CLI blocked"),
        ):
            ratio = Summary.of(ratios(res[name], res[base]))
            rows.append(
                Row(
                    name=f'start-up: `{shown} --{name}` vs `python -c "import httpx"`, {label}, wall time ({rounds} fresh processes each)',
                    sdk=Summary.of(res[name]).fmt(".1f", "ms"),
                    baseline=Summary.of(res[base]).fmt(".1f", "ms"),
                    result=f"{ratio.fmt('.2f', '×')} httpx",
                    target="≤ 1.5× httpx",
                    met=None if smoke else ratio.median <= 1.5,
                    command=command("cli_start", smoke),
                )
            )
    return rows


if __name__ == "__main__":  # pragma: no cover - run through bench/run.py
    sys.exit("run: .venv/bin/python bench/run.py --only cli_start")

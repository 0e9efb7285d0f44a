"""Shared helpers of the benchmarks: statistics, versions, interleaved rounds, the result rows.

Rules every benchmark follows (see BENCHMARKS.md):

* the SDK and its baseline run in the same process run, in interleaved rounds (the order
  alternates every round), so machine noise hits both alike;
* figures are medians with min–max over the rounds; comparisons are ratios of the two,
  computed per round and then summarised;
* nothing is gated on absolute times; ``--smoke`` runs tiny sizes and checks no target.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Callable, Dict, List, Mapping, Optional, Sequence

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)


@dataclass
class Row:
    """One line of the BENCHMARKS.md table."""

    name: str  # what is measured
    sdk: str  # the SDK's figure: median (min–max)
    baseline: str  # the baseline's figure, or "" when the row compares with a fixed target
    result: str  # the figure the target is about (a ratio, a difference, a percentile...)
    target: str
    met: Optional[bool]  # None: informational row, or smoke run (no thresholds)
    command: str
    notes: List[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "—"
        return "met" if self.met else "**missed**"


@dataclass
class Summary:
    """Median with min and max of a list of measurements."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            raise ValueError("no measurements")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def fmt(self, spec: str = ".1f", unit: str = "") -> str:
        sep = " " if unit and not unit.startswith(("×", "%")) else ""
        u = f"{sep}{unit}" if unit else ""
        return f"{self.median:{spec}}{u} ({self.low:{spec}}–{self.high:{spec}})"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks."""
    data = sorted(values)
    if not data:
        raise ValueError("no measurements")
    k = (len(data) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def interleave(
    rounds: int,
    contenders: Mapping[str, Callable[[], float]],
    *,
    on_round: Optional[Callable[[int, Dict[str, float]], None]] = None,
    rotate: bool = False,
) -> Dict[str, List[float]]:
    """Run each contender once per round, alternating the order every round.

    Args:
        rounds: Number of rounds.
        contenders: name → a function that runs one measurement and returns its value.
        on_round: Called after each round with that round's values (progress output).
        rotate: Rotate the order by one every round (and reverse it every other cycle)
            instead of alternating two orders: with three or more contenders, alternating
            would always run the same ones in the middle; rotating puts each in every
            position equally often.

    Returns:
        name → the list of per-round values, in round order.
    """
    names = list(contenders)
    results: Dict[str, List[float]] = {name: [] for name in names}
    for i in range(rounds):
        if rotate:
            shift = i % len(names)
            order = names[shift:] + names[:shift]
            if (i // len(names)) % 2:
                order.reverse()
        else:
            order = names if i % 2 == 0 else names[::-1]
        values: Dict[str, float] = {}
        for name in order:
            values[name] = contenders[name]()
            results[name].append(values[name])
        if on_round is not None:
            on_round(i, values)
    return results


def ratios(numerator: Sequence[float], denominator: Sequence[float]) -> List[float]:
    """Per-round ratios of two interleaved series."""
    return [a / b for a, b in zip(numerator, denominator)]


def cpu_time() -> float:
    """CPU seconds used by this process (all threads): what the client costs the machine."""
    return time.process_time()


def versions() -> Dict[str, str]:
    """The versions a BENCHMARKS.md table was measured with."""

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "fabric-platform": version("fabric-platform"),
        "httpx": version("httpx"),
        "httpcore": version("httpcore"),
        "pydantic": version("pydantic"),
        "orjson": version("orjson"),
        "httpx-sse": version("httpx-sse"),
        "machine": f"{platform.system()} {platform.machine()}",
        "cores": str(os.cpu_count()),
    }


def log(message: str) -> None:
    """Progress output (stderr, so the table on stdout stays clean)."""
    print(message, file=sys.stderr, flush=True)


def python() -> str:
    """The interpreter running the benchmarks (used for fresh subprocesses)."""
    return sys.executable


def command(module: str, smoke: bool = False) -> str:
    """The command line that reproduces a benchmark's rows."""
    return f"`.venv/bin/python bench/run.py --only {module}{' --smoke' if smoke else ''}`"

"""Import time and client construction, each in a fresh interpreter, many interleaved rounds.

* ``python -X importtime -c "import fabric_platform"`` vs ``-c "import httpx"``: the sum of the
  cumulative times of the top-level imports the ``-c`` code triggers (lines after ``site``).
* The same for ``from fabric_platform import FabricClient`` and ``... AsyncFabricClient`` —
  what a program pays before its first call (the package itself imports lazily, so
  ``import fabric_platform`` alone is cheap; the clients leave pydantic, the TypedDicts, the
  operation table and asyncio to first use).
* Client construction: ``FabricClient(base_url=..., api_key=...)`` vs ``httpx.Client()``, both
  timed with ``perf_counter`` in the same fresh process, after a first ``httpx.Client()`` paid
  the first-use costs both share (lazy imports only the SDK triggers are counted).

httpx imports its optional command-line entry point (``httpx._main``: click, rich, pygments)
whenever those are installed — they are in this dev venv. That inflates the httpx baseline
and so flatters the ratio, so the import rows are measured twice: as installed, and with the
CLI blocked (``sys.modules["httpx._main"] = None``: httpx falls back exactly as it does when
click/rich are absent, which is what most installs see).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from typing import Dict, List, Tuple

from _common import ROOT, Row, Summary, command, interleave, log, python, ratios

_BLOCK_CLI = "import sys; sys.modules['httpx._main'] = None; "
_PYCACHE = tempfile.mkdtemp(prefix="fabric-bench-pycache-")


def _env() -> Dict[str, str]:
    # Measure what an installed package costs: with bytecode. This dev environment may set
    # PYTHONDONTWRITEBYTECODE (and `make generate` drops generated/__pycache__), which would
    # make every fresh process compile the generated modules from source; the cache goes to
    # a private temporary prefix so the source tree is left alone.
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    return env


def importtime_ms(code: str) -> float:
    """Milliseconds of imports triggered by ``code`` in a fresh interpreter (-X importtime)."""
    proc = subprocess.run(
        [python(), "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=120,
        check=True,
    )
    total = 0
    after_site = False
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cumulative, name = line[len("import time:") :].split("|")
        if not cumulative.strip().isdigit():
            continue  # the header line
        top_level = not name.startswith("  ")  # -X importtime indents nested imports
        if top_level and name.strip() == "site":
            after_site, total = True, 0
            continue
        if after_site and top_level:
            total += int(cumulative)
    return total / 1000.0


# One fresh process per round, both clients constructed in it: first an httpx.Client() that
# is thrown away (it pays what both share on first use: httpcore's import and the default
# SSL context's CA bundle, ~50 ms here and the noisiest part), then the SDK client and a
# second httpx.Client(), in the order given. What the SDK loads lazily on construction
# is still counted; measuring each client alone in its own process instead left the 5 ms
# target inside the ±10 ms noise of that shared first-use cost.
_CONSTRUCT = """
import sys, time, httpx
from fabric_platform import FabricClient
httpx.Client().close()
times = {}
for name in sys.argv[1:]:
    t0 = time.perf_counter()
    client = FabricClient(base_url='http://127.0.0.1:9', api_key='fab_test_x') if name == 'sdk' else httpx.Client()
    times[name] = (time.perf_counter() - t0) * 1000.0
    client.close()
print(times['sdk'], times['httpx'])
"""


def construct_ms(order: List[str]) -> Tuple[float, float]:
    """(SDK, httpx) construction times in ms, measured in one fresh process in ``order``."""
    proc = subprocess.run(
        [python(), "-c", _CONSTRUCT, *order],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=120,
        check=True,
    )
    sdk_ms, httpx_ms = proc.stdout.strip().splitlines()[-1].split()
    return float(sdk_ms), float(httpx_ms)


def _import_row(label: str, sdk_code: str, rounds: int, smoke: bool, block_cli: bool) -> Row:
    prefix = _BLOCK_CLI if block_cli else ""
    res = interleave(
        rounds,
        {
            "sdk": lambda: importtime_ms(prefix + sdk_code),
            "httpx": lambda: importtime_ms(prefix + "import httpx"),
        },
    )
    ratio = Summary.of(ratios(res["sdk"], res["httpx"]))
    variant = "httpx CLI blocked" if block_cli else "as installed (httpx imports rich/click)"
    return Row(
        name=f"import: `{sdk_code}` vs `import httpx`, {variant} ({rounds} fresh processes each)",
        sdk=Summary.of(res["sdk"]).fmt(".1f", "ms"),
        baseline=Summary.of(res["httpx"]).fmt(".1f", "ms"),
        result=f"{ratio.fmt('.2f', '×')} httpx",
        target="≤ 1.15× httpx",
        met=None if smoke else ratio.median <= 1.15,
        command=command("imports", smoke),
    )


def run(smoke: bool) -> List[Row]:
    rounds = 2 if smoke else int(os.environ.get("BENCH_ROUNDS", 25))
    rows: List[Row] = []
    # Warm the bytecode cache once (both variants), so every measured process finds it.
    for warm in ("from fabric_platform import AsyncFabricClient, FabricClient; import httpx",):
        importtime_ms(warm)
        importtime_ms(_BLOCK_CLI + warm)
    for code in (
        "import fabric_platform",
        "from fabric_platform import FabricClient",
        "from fabric_platform import AsyncFabricClient",
    ):
        for block_cli in (False, True):
            if smoke and block_cli:
                continue
            log(f"imports: {code!r} (CLI blocked: {block_cli}), {rounds} rounds")
            rows.append(
                _import_row(label=code, sdk_code=code, rounds=rounds, smoke=smoke, block_cli=block_cli)
            )

    log(f"imports: client construction, {rounds} rounds")
    pairs = [construct_ms(["sdk", "httpx"] if i % 2 == 0 else ["httpx", "sdk"]) for i in range(rounds)]
    res: Dict[str, List[float]] = {"sdk": [p[0] for p in pairs], "httpx": [p[1] for p in pairs]}
    diff = Summary.of([a - b for a, b in pairs])
    rows.append(
        Row(
            name=f"client construction: `FabricClient(...)` vs `httpx.Client()` (a fresh process per round, after "
            f"a first `httpx.Client()` paid the shared first-use costs; order alternating, {rounds} rounds)",
            sdk=Summary.of(res["sdk"]).fmt(".2f", "ms"),
            baseline=Summary.of(res["httpx"]).fmt(".2f", "ms"),
            result=f"SDK − httpx {diff.fmt('+.2f', 'ms')}",
            target="≤ httpx.Client + 5 ms",
            met=None if smoke else diff.median <= 5.0,
            command=command("imports", smoke),
        )
    )
    return rows

"""Import time and client construction, each in a fresh interpreter, many interleaved rounds.

* ``from fabric_platform import FabricClient`` against ``import httpx`` in wall time over an
  empty interpreter: each round runs a fresh ``python -c pass``, a fresh ``-c "import httpx"``
  and a fresh ``-c "from fabric_platform import FabricClient"`` (the order rotating), and
  the round's ratio is (SDK − empty) / (httpx − empty). Bytecode is compiled first as a
  wheel install compiles it (``compileall`` of site-packages and of the SDK's packages where
  they are installed, ``__pycache__`` beside the sources), and checked fresh for every
  module the measured imports load, so no process compiles or writes anything.
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
and so flatters the ratio, so the ``-X importtime`` rows are measured twice: as installed, and with the
CLI blocked (``sys.modules["httpx._main"] = None``: httpx falls back exactly as it does when
click/rich are absent, which is what most installs see). The wall-time row is measured with
the CLI blocked only: that is the fair comparison, since the SDK's own dependencies do not
bring click or rich, and both sides paying for them would only dilute the ratio.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import os
import subprocess
import sysconfig
import tempfile
import time
from typing import Callable, Dict, List, Tuple

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


def _run_python(args: List[str], env: Dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with ``args`` in the project root; its output, captured as text."""
    return subprocess.run(
        [python(), *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=True
    )


def importtime_ms(code: str) -> float:
    """Milliseconds of imports triggered by ``code`` in a fresh interpreter (-X importtime)."""
    proc = _run_python(["-X", "importtime", "-c", code], _env())
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


# The SDK's top-level packages; where they are installed is asked of the import system, so
# an editable install (paths to src/ and generated/) and a wheel install work alike.
_SDK_PACKAGES = ("fabric_platform", "fabric_platform_api")
_WALL_SDK = "from fabric_platform import FabricClient"


def _wall_env() -> Dict[str, str]:
    # Bytecode where a wheel install puts it (beside the sources, no cache prefix). Nothing
    # is written by the timed processes: the bytecode is fresh before they start.
    env = dict(os.environ)
    env.pop("PYTHONPYCACHEPREFIX", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _compile_as_wheel_install() -> List[str]:
    """Compile the bytecode of site-packages and of the SDK's packages, as pip does on install.

    pip compiles every installed ``.py`` with ``compileall`` (timestamp-checked ``.pyc``
    beside the source, at the interpreter's optimisation level); ``compile_dir`` rewrites only
    what is missing or stale. The SDK's packages are compiled where they are imported from,
    which for this editable install is the source tree (``__pycache__`` is git-ignored).

    Returns:
        The directories compiled.
    """
    directories = [sysconfig.get_paths()["purelib"]]  # this interpreter is the one timed
    for package in _SDK_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"{package} is not installed as a package")
        directories.extend(spec.submodule_search_locations)
    for directory in dict.fromkeys(directories):
        if not compileall.compile_dir(directory, quiet=1):
            raise RuntimeError(f"compileall failed in {directory}")
    return directories


# Run in a fresh interpreter after the measured import: every module it loaded from a .py
# file must have a .pyc that the import system would accept (same magic number, source
# mtime and size), else the timed processes would compile that module from source.
_CHECK_BYTECODE = """
import importlib.util, json, os, sys
stale, checked = [], 0
for name, module in list(sys.modules.items()):
    spec = getattr(module, "__spec__", None)
    if spec is None or not spec.cached or not (spec.origin or "").endswith(".py"):
        continue
    checked += 1
    try:
        with open(spec.cached, "rb") as fh:
            head = fh.read(16)
    except OSError:
        stale.append(name)
        continue
    st = os.stat(spec.origin)
    flags = int.from_bytes(head[4:8], "little")
    fresh = head[:4] == importlib.util.MAGIC_NUMBER and (
        flags & 1  # hash-based .pyc: valid by construction of compileall
        or (int.from_bytes(head[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(head[12:16], "little") == st.st_size & 0xFFFFFFFF)
    )
    if not fresh:
        stale.append(name)
print(json.dumps({"checked": checked, "stale": sorted(stale)}))
"""


def stale_bytecode(code: str) -> Tuple[int, List[str]]:
    """(modules checked, modules whose .pyc is missing or stale) after ``code`` runs."""
    proc = _run_python(["-c", code + "\n" + _CHECK_BYTECODE], _wall_env())
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return int(result["checked"]), list(result["stale"])


def spawn_ms(code: str) -> Tuple[float, float]:
    """(wall, CPU) milliseconds of ``python -c code``, from spawn to exit.

    The CPU time (user + system, from the child's own resource usage) is steadier than wall
    time when other jobs share the machine; it is reported beside the wall-time figure.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        [python(), "-c", code],
        cwd=ROOT,
        env=_wall_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - started) * 1000.0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000.0


def _wall_import_row(rounds: int, smoke: bool) -> Row:
    compiled = _compile_as_wheel_install()
    checked, stale = stale_bytecode(_WALL_SDK + "; import httpx")
    if stale:  # e.g. a Python whose standard library came without bytecode
        message = f"bytecode missing or stale after compileall: {', '.join(stale)}"
        if not smoke:
            raise RuntimeError(message)
        log(f"imports: {message}")
    # The row's comparison has httpx's CLI blocked (see the module docstring); the same two
    # imports as installed run in the same rounds, for a row note.
    codes = {
        "empty": _BLOCK_CLI + "pass",
        "httpx": _BLOCK_CLI + "import httpx",
        "sdk": _BLOCK_CLI + _WALL_SDK,
        "httpx_installed": "import httpx",
        "sdk_installed": _WALL_SDK,
    }
    cpu: Dict[str, List[float]] = {name: [] for name in codes}

    def contender(name: str) -> Callable[[], float]:
        def measure() -> float:
            wall, cpu_ms = spawn_ms(codes[name])
            cpu[name].append(cpu_ms)
            return wall

        return measure

    contenders = {name: contender(name) for name in codes}
    for measure in contenders.values():  # the files into the OS cache
        measure()
    for values in cpu.values():
        values.clear()
    log(f"imports: {_WALL_SDK!r} wall time over an empty interpreter, {rounds} rounds")
    wall = interleave(rounds, contenders, rotate=True)

    def over_empty(series: Dict[str, List[float]], name: str) -> List[float]:
        return [value - empty for value, empty in zip(series[name], series["empty"])]

    def ratio(series: Dict[str, List[float]], suffix: str = "") -> Summary:
        return Summary.of(ratios(over_empty(series, "sdk" + suffix), over_empty(series, "httpx" + suffix)))

    def figures(series: Dict[str, List[float]], suffix: str = "") -> str:
        return (
            f"{ratio(series, suffix).fmt('.2f', '×')} httpx (SDK {Summary.of(over_empty(series, 'sdk' + suffix)).fmt('.1f', 'ms')}, "
            f"httpx {Summary.of(over_empty(series, 'httpx' + suffix)).fmt('.1f', 'ms')})"
        )

    result = ratio(wall)
    where = ", ".join(os.path.relpath(d, ROOT) for d in compiled)
    return Row(
        name=f"import: `{_WALL_SDK}` vs `import httpx`, wall time over an empty interpreter "
        f"(`python -c pass`), httpx CLI blocked, bytecode compiled as a wheel install does "
        f"({rounds} rounds of fresh processes, order rotating)",
        sdk=Summary.of(over_empty(wall, "sdk")).fmt(".1f", "ms"),
        baseline=Summary.of(over_empty(wall, "httpx")).fmt(".1f", "ms"),
        result=f"{result.fmt('.2f', '×')} httpx",
        target="≤ 1.10× httpx",
        met=None if smoke else result.median <= 1.10,
        command=command("imports", smoke),
        notes=[
            f"per round (SDK − empty) / (httpx − empty), each a fresh process; the empty interpreter took "
            f"{Summary.of(wall['empty']).fmt('.1f', 'ms')}; {checked} modules loaded, every one with fresh "
            f"bytecode (compiled in {where})",
            f"CPU time (user + system) of the same processes, same formula: {figures(cpu)}",
            f"as installed (httpx imports rich/click, which both sides then pay), same rounds: wall {figures(wall, '_installed')}",
        ],
    )


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
    proc = _run_python(["-c", _CONSTRUCT, *order], _env())
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
    for code in ("import fabric_platform", _WALL_SDK, "from fabric_platform import AsyncFabricClient"):
        if code == _WALL_SDK:
            rows.append(_wall_import_row(rounds, smoke))
            continue
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

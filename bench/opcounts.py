"""Bytecodes executed per ``get_run``: SDK vs raw httpx, deterministic where CPU time is not.

The per-call rows of ``bench/percall.py`` sit within this machine's timing noise, so the
per-call work is also steered by counting what CPython executes: ``sys.settrace`` with
``frame.f_trace_opcodes = True`` counts every bytecode of every Python frame of one call
(C functions count as the one call instruction that invokes them). Time per bytecode is
fairly uniform here, so the count tracks CPU without the noise, and the same code gives
the same count on every run.

Two modes, each after warm-up (connections open, caches filled):

* ``mock`` — ``httpx.MockTransport`` answering the canned run envelope (the SDK's own work);
* ``loopback`` — the canned server of ``bench/_servers.py`` in a child process.

Usage::

    .venv/bin/python bench/opcounts.py                 # both modes, SDK vs raw
    .venv/bin/python bench/opcounts.py --top 25        # plus the functions that differ most
    .venv/bin/python bench/opcounts.py --mode mock --sdk-only --top 40
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import sys
from types import FrameType
from typing import Any, Callable, Counter, Dict, Iterator, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import httpx
from _servers import RUN_ID, canned_server
from percall import make_clients

from fabric_platform import FabricClient

_WARMUP = 20

FuncKey = Tuple[str, str]


def count_opcodes(fn: Callable[[], object]) -> Tuple[int, Counter[FuncKey]]:
    """Bytecodes one call of ``fn`` executes, in total and per (file, function).

    Args:
        fn: The call to measure (already warmed up).

    Returns:
        The total and a counter keyed by ``(short file name, function name)``.
    """
    per_func: Counter[FuncKey] = collections.Counter()
    keys: Dict[Any, FuncKey] = {}

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            code = frame.f_code
            key = keys.get(code)
            if key is None:
                key = keys[code] = (_short(code.co_filename), code.co_name)
            per_func[key] += 1
        return local

    def global_trace(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        return local

    sys.settrace(global_trace)
    try:
        fn()
    finally:
        sys.settrace(None)
    # The tracer's own frames are not traced (tracing is off inside a trace function);
    # the settrace(None) call itself shows up as a few bytecodes of this function: drop it.
    per_func.pop((_short(__file__), "count_opcodes"), None)
    return sum(per_func.values()), per_func


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/src/", "/generated/", "/lib/python"):
        index = filename.rfind(marker)
        if index >= 0:
            return filename[index + len(marker) :]
    return os.path.basename(filename)


@contextlib.contextmanager
def _base_url(mode: str) -> Iterator[str]:
    if mode == "mock":
        yield "http://fabric.invalid"
        return
    with canned_server() as (base, _pid):
        yield base


def _calls(sdk: FabricClient, raw: httpx.Client, url: str) -> Dict[str, Callable[[], object]]:
    return {"sdk": lambda: sdk.get_run(RUN_ID), "raw": lambda: raw.get(url).json()["data"]}


def measure(mode: str) -> Dict[str, Tuple[int, Counter[FuncKey]]]:
    """Opcode counts of one warmed-up ``get_run`` (SDK) and raw GET + ``.json()["data"]``.

    Args:
        mode: ``"mock"`` or ``"loopback"``.

    Returns:
        ``{"sdk": (total, per_function), "raw": (...)}``.
    """
    results: Dict[str, Tuple[int, Counter[FuncKey]]] = {}
    with _base_url(mode) as base:
        sdk, raw = make_clients(base, mock=mode == "mock")
        calls = _calls(sdk, raw, f"{base}/v1/workflow-runs/{RUN_ID}")
        try:
            assert calls["sdk"]() == calls["raw"]()
            for name, fn in calls.items():
                for _ in range(_WARMUP):
                    fn()
                results[name] = count_opcodes(fn)
        finally:
            sdk.close()
            raw.close()
    return results


def _print_top(sdk: Counter[FuncKey], raw: Optional[Counter[FuncKey]], top: int) -> None:
    keys = set(sdk) | set(raw or ())
    rows = []
    for key in keys:
        s = sdk.get(key, 0)
        r = raw.get(key, 0) if raw is not None else 0
        rows.append((s - r, s, r, key))
    rows.sort(key=lambda row: -abs(row[0]))
    print(f"    {'SDK−raw':>8} {'SDK':>6} {'raw':>6}  function")
    for diff, s, r, (file, func) in rows[:top]:
        if diff:
            print(f"    {diff:>+8} {s:>6} {r:>6}  {file}:{func}")


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["mock", "loopback", "both"], default="both")
    parser.add_argument("--top", type=int, default=0, help="list the N functions that differ most")
    parser.add_argument(
        "--sdk-only",
        action="store_true",
        help="with --top: every function the SDK call runs, not the difference",
    )
    args = parser.parse_args(argv)
    modes = ["mock", "loopback"] if args.mode == "both" else [args.mode]
    for mode in modes:
        results = measure(mode)
        sdk_total, sdk_funcs = results["sdk"]
        raw_total, raw_funcs = results["raw"]
        extra = sdk_total - raw_total
        print(
            f"{mode:>8}: bytecodes per get_run  SDK {sdk_total:,}  raw {raw_total:,}  "
            f"SDK−raw {extra:+,} ({extra / raw_total * 100:+.1f} %)"
        )
        if args.top:
            _print_top(sdk_funcs, None if args.sdk_only else raw_funcs, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

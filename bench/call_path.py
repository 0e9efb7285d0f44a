"""The path of one ``client.get_run(id)`` through the SDK: calls, modules, module switches.

A count, not a time: it shows how far one call travels through the SDK's modules. The call
goes to the emulator (``LocalFabric``: real HTTP on 127.0.0.1, in this process) after
warm-up calls, so first-use work (lazy imports, the operation table, the call template, the
connection) is not counted.

The path depends a little on the network: when the response's head and body arrive in two
socket reads instead of one, the path has one more read (and its deadline clamp) and one
more resume of the body stream. So the call is measured many times and the most frequent
path is reported, with how often each path occurred.

What is counted, from ``sys.setprofile`` ``"call"`` events on the calling thread during a
measured call (the emulator's server thread is not profiled):

* an **SDK call** is a ``"call"`` event of a Python frame whose module (the frame's
  ``__name__`` global) is ``fabric_platform``, ``fabric_platform_api`` or under either,
  except the emulator ``fabric_platform.testing``. C functions (``"c_call"``) are not
  counted. A generator or coroutine resumed counts again (CPython reports a resume as a
  ``"call"`` of the same frame), since the path passes through its module again;
* **SDK modules** are the distinct modules of those calls;
* a **module switch** is an SDK call whose module differs from that of the SDK call before
  it, in the order the ``"call"`` events arrive; the first SDK call is one too (the path
  enters the SDK from the caller's module). Frames of other code (httpx, httpcore, the
  standard library) in between are skipped, neither breaking nor adding a switch: so
  ``a → httpx → a`` is no switch and ``a → httpx → b`` is one. With N calls there are at
  most N switches.

Usage::

    .venv/bin/python bench/call_path.py            # the three figures
    .venv/bin/python bench/call_path.py --verbose  # and every SDK call, in order
    .venv/bin/python bench/run.py --only call_path # as a BENCHMARKS.md row
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from types import FrameType
from typing import Any, Callable, List, NamedTuple, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Row, command, log

SDK_PACKAGES = ("fabric_platform", "fabric_platform_api")
EXCLUDED_PACKAGES = ("fabric_platform.testing",)
_WARMUP = 5
_MEASURED = 50


def is_sdk_module(module: str) -> bool:
    """Whether ``module`` is SDK code (the emulator is not)."""

    def under(package: str) -> bool:
        return module == package or module.startswith(package + ".")

    return any(under(p) for p in SDK_PACKAGES) and not any(under(p) for p in EXCLUDED_PACKAGES)


class CallPath(NamedTuple):
    """The SDK calls of one measured call, in order, as ``(module, function)``."""

    calls: List[Tuple[str, str]]

    @property
    def modules(self) -> List[str]:
        """Distinct SDK modules, in the order the path first enters them."""
        return list(dict.fromkeys(module for module, _ in self.calls))

    @property
    def switches(self) -> int:
        """SDK calls whose module differs from the previous SDK call's (the first one counts)."""
        modules = [module for module, _ in self.calls]
        return sum(1 for before, after in zip([None, *modules], modules) if before != after)


def trace_sdk_calls(fn: Callable[[], object]) -> CallPath:
    """Run ``fn`` once under ``sys.setprofile`` and collect its SDK calls."""
    calls: List[Tuple[str, str]] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            module = frame.f_globals.get("__name__", "")
            if is_sdk_module(module):
                calls.append((module, frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return CallPath(calls)


def measure(calls: int = _MEASURED) -> List[Tuple[CallPath, int]]:
    """The call paths of ``calls`` warmed-up ``get_run`` against the emulator.

    Returns:
        Each distinct path with the number of calls that took it, the most frequent first.
    """
    from fabric_platform.testing import LocalFabric

    with LocalFabric() as local:
        client = local.client()
        try:
            run = client.submit_run("research/trends", input={"topic": "call path"})
            run_id = run["id"]
            for _ in range(_WARMUP):
                client.get_run(run_id)
            paths = collections.Counter(
                tuple(trace_sdk_calls(lambda: client.get_run(run_id)).calls) for _ in range(calls)
            )
        finally:
            client.close()
    return [(CallPath(list(path)), count) for path, count in paths.most_common()]


def _figures(path: CallPath) -> str:
    return f"{len(path.calls)} SDK calls in {len(path.modules)} modules, {path.switches} module switches"


def run(smoke: bool) -> List[Row]:
    """The BENCHMARKS.md row: a count, so the same figures in a smoke run."""
    calls = 5 if smoke else _MEASURED
    log(f"call_path: {calls} calls of get_run")
    paths = measure(calls)
    path, count = paths[0]
    others = "; ".join(f"{_figures(other)} ({n} of {calls})" for other, n in paths[1:])
    notes = [f"modules, in the order the call enters them: {', '.join(f'`{m}`' for m in path.modules)}"]
    if others:
        notes.append(f"other paths (the response read in more pieces): {others}")
    return [
        Row(
            name=f"path of one `get_run` through the SDK: Python calls in SDK modules, the modules, module "
            f"switches (emulator on loopback, after warm-up; the most frequent path of {calls} calls)",
            sdk=f"{count} of {calls} calls took this path",
            baseline="",
            result=_figures(path),
            target="(a count: how far one call travels)",
            met=None,
            command=command("call_path", smoke),
            notes=notes,
        )
    ]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list every SDK call, in order")
    parser.add_argument("--calls", type=int, default=_MEASURED, help="measured calls (after warm-up)")
    args = parser.parse_args(argv)
    paths = measure(args.calls)
    path, count = paths[0]
    if args.verbose:
        previous = None
        for index, (module, function) in enumerate(path.calls, 1):
            mark = " " if module == previous else "*"  # a module switch
            print(f"{index:>4} {mark} {module}.{function}")
            previous = module
        print("modules: " + ", ".join(path.modules))
        print()
    print(f"get_run: {_figures(path)} ({count} of {args.calls} calls took this path)")
    for other, other_count in paths[1:]:
        print(f"  also: {_figures(other)} ({other_count} of {args.calls})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

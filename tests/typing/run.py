"""The typing suite and the user project, against an installed wheel (``make typecheck-users``).

usage: python tests/typing/run.py --python .venv-users/bin/python

That interpreter has the built wheel installed (with its ``emulator`` extra), mypy, pyright
and pytest; nothing of this checkout is on its path. Every check runs in an empty temporary
folder, so what is checked is what a user gets from ``pip install``:

1. the surface files pass ``mypy --strict`` and pyright in strict mode, unused ignores being
   errors for both (so each rejected line is still rejected);
2. ``known_bad.py`` fails under each checker, on exactly its ``# wrong`` lines;
3. the documentation's snippets (seed_as_code.py) type-check under both, except for the few
   lines that index what the spec says may be null;
4. ``user_project/test_x.py``, alone in a folder, passes under pytest with the plugin's fixtures.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Set, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import seed_as_code  # noqa: E402

ROOT = HERE.parents[1]
SURFACE = ["sync_surface.py", "async_surface.py", "testing_surface.py", "user_project/test_x.py"]
MYPY_INI = """\
[mypy]
strict = True
warn_unused_ignores = True
enable_error_code = ignore-without-code
"""
PYRIGHT_CONFIG = {
    "typeCheckingMode": "strict",
    # Only `# pyright: ignore[rule]` silences pyright; mypy's comments are mypy's.
    "enableTypeIgnoreComments": False,
    "reportUnnecessaryTypeIgnoreComment": "error",
}
# Warnings are errors in the user project (a leaked socket or loop fails it), except
# pytest-asyncio's nudge to configure a default loop scope: the project has no config.
_STRICT_WARNINGS = ["-W", "error", "-W", "ignore::pytest.PytestDeprecationWarning"]
_MYPY_ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: ")


def _run(cmd: List[str], cwd: Path) -> Tuple[int, str]:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


def _check_installed(python: str, cwd: Path) -> None:
    script = (
        "import fabric_platform, fabric_platform_api as a; print(fabric_platform.__file__); print(a.__file__)"
    )
    code, out = _run([python, "-c", script], cwd)
    if code != 0:
        sys.exit(f"typing suite: fabric-platform is not installed in {python}:\n{out}")
    for line in out.split():
        if "site-packages" not in Path(line).parts:
            sys.exit(
                f"typing suite: {line} is not an installed wheel (an editable install or the source tree)"
            )


def _mypy(python: str, cwd: Path, files: List[str]) -> Tuple[int, str]:
    return _run([python, "-m", "mypy", "--config-file", "mypy.ini", "--no-incremental", *files], cwd)


def _pyright(python: str, cwd: Path, files: List[str]) -> Tuple[int, str]:
    pyright = str(Path(python).parent / "pyright")
    return _run([pyright, "--pythonpath", python, "--outputjson", *files], cwd)


def _mypy_lines(out: str, name: str) -> Set[int]:
    return {
        int(m["line"]) for m in map(_MYPY_ERROR.match, out.splitlines()) if m and m["file"].endswith(name)
    }


def _pyright_lines(out: str) -> Set[int]:
    report = json.loads(out[out.index("{") :])
    return {d["range"]["start"]["line"] + 1 for d in report["generalDiagnostics"] if d["severity"] == "error"}


def _errors_exactly_on(python: str, work: Path, name: str, lines: Set[int], what: str) -> List[str]:
    """Both checkers report errors in ``name`` on exactly ``lines``; returns the failures."""
    failures = []
    for checker, run, parse in (
        ("mypy --strict", _mypy, lambda out: _mypy_lines(out, name)),
        ("pyright strict", _pyright, _pyright_lines),
    ):
        code, out = run(python, work, [name])
        found = parse(out)
        ok = found == lines and (code != 0) == bool(lines)
        verdict = "ok" if ok else "FAILED"
        print(
            f"{checker} on {what} ({name}): errors on lines {sorted(found)}, expected {sorted(lines)}: {verdict}"
        )
        if not ok:
            failures.append(f"{checker} on {name}:\n{out}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", required=True, help="interpreter with the wheel, mypy, pyright, pytest")
    args = parser.parse_args()
    python = str(Path(args.python).absolute())
    failures: List[str] = []
    with tempfile.TemporaryDirectory(prefix="fabric-typing-") as tmp:
        work = Path(tmp)
        _check_installed(python, work)
        for name in [*SURFACE, "known_bad.py"]:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(HERE / name, work / name)
        (work / "mypy.ini").write_text(MYPY_INI, encoding="utf-8")
        (work / "pyrightconfig.json").write_text(json.dumps(PYRIGHT_CONFIG), encoding="utf-8")

        # 1. The surface type-checks; every rejected line is still rejected.
        code, out = _mypy(python, work, SURFACE)
        print(f"mypy --strict, {len(SURFACE)} surface files: {'ok' if code == 0 else 'FAILED'}")
        if code != 0:
            failures.append("mypy:\n" + out)
        code, out = _pyright(python, work, SURFACE)
        errors = _pyright_lines(out) if "{" in out else {-1}
        print(
            f"pyright strict, {len(SURFACE)} surface files: {'ok' if code == 0 and not errors else 'FAILED'}"
        )
        if code != 0 or errors:
            subprocess.run([str(Path(python).parent / "pyright"), "--pythonpath", python, *SURFACE], cwd=work)
            failures.append("pyright: see above")

        # 2. Deliberate mistakes fail each checker, on their lines and nowhere else.
        source = (HERE / "known_bad.py").read_text(encoding="utf-8").splitlines()
        wrong = {i for i, line in enumerate(source, 1) if line.rstrip().endswith("# wrong")}
        failures += _errors_exactly_on(python, work, "known_bad.py", wrong, "deliberate mistakes")

        # 3. The documentation's snippets, as written.
        expected = seed_as_code.write(work / "seed_as_code.py")
        failures += _errors_exactly_on(python, work, "seed_as_code.py", expected, "the seed's snippets")

        # 4. A user project with nothing but tests/test_x.py.
        project = work / "project"
        (project / "tests").mkdir(parents=True)
        shutil.copy(HERE / "user_project" / "test_x.py", project / "tests" / "test_x.py")
        code, out = _run(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *_STRICT_WARNINGS, "tests"], project
        )
        summary = out.strip().splitlines()[-1] if out.strip() else ""
        print(f"user project (tests/test_x.py only) under pytest: {summary}")
        if code != 0:
            failures.append("user project:\n" + out)
    for failure in failures:
        print("\n" + failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

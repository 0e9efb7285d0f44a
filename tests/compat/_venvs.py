"""Throwaway venvs holding one public fabric-platform release each (cached, hash-pinned).

The public releases share our distribution name, so they never enter our venv: each lives in
``.cache/compat-venvs/<version>`` and runs in its own interpreter. The wheel is installed with
``--require-hashes`` from ``requirements-<version>.txt``; its two dependencies (httpx,
pydantic) come from the registry as usual. A stamp holding the requirements file's text marks
a finished venv, so a changed pin rebuilds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = Path(os.environ.get("FABRIC_COMPAT_CACHE", ROOT / ".cache" / "compat-venvs"))
VERSIONS = ("0.8.1", "0.17.1")
DEPENDENCIES = ("httpx>=0.25", "pydantic>=2.0")


def venv_python(version: str) -> Path:
    """The interpreter of the venv for ``version``, building the venv when missing or stale."""
    requirements = HERE / f"requirements-{version}.txt"
    pin = requirements.read_text()
    target = CACHE / version
    python = target / "bin" / "python"
    stamp = target / ".compat-stamp"
    if python.exists() and stamp.exists() and stamp.read_text() == pin:
        return python
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    _run([base, "-m", "venv", str(target)])
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, *DEPENDENCIES])
    _run([*pip, "--no-deps", "--require-hashes", "-r", str(requirements)])
    stamp.write_text(pin)
    return python


def _run(argv: list) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def clean_env(**extra: str) -> dict:
    """The environment for a venv's interpreter: ours minus anything that would leak our SDK in."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env.update(extra)
    return env

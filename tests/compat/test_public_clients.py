"""The public fabric-platform 0.8.1 and 0.17.1 clients, unchanged, against LocalFabric.

Each release runs in its own throwaway venv (see ``_venvs``); ``drive_public.py`` calls every
public request-making method the release has (enumerated from the package, so a method no
step covers fails here) and reports each method's first outcome.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fabric_platform.testing import LocalFabric

from ._venvs import HERE, VERSIONS, clean_env, venv_python

SUMMARY: dict = {}


def drive(version: str, *, shape: str = "", strict: bool = False) -> dict:
    """Run the driver with a public release's venv, or (``shape``) with our SDK in our venv."""
    python = sys.executable if shape else venv_python(version)
    with LocalFabric(speed=200.0) as fabric:
        env = clean_env(
            FABRIC_COMPAT_SHAPE=shape,
            FABRIC_COMPAT_STRICT="1" if strict else "",
            FABRIC_COMPAT_VERSION=version,
            FABRIC_COMPAT_BASE_URL=fabric.base_url,
            FABRIC_COMPAT_API_KEY=fabric.api_key,
            FABRIC_COMPAT_ORG=fabric.organization_id,
        )
        done = subprocess.run(
            [str(python), "-s", str(HERE / "drive_public.py")],
            cwd=str(HERE),
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, f"driver for {version} crashed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


def check(version: str, report: dict) -> None:
    results = report["results"]
    failing = {name: r["detail"] for name, r in sorted(results.items()) if not r["ok"]}
    methods = report["methods"]
    ok = sum(1 for m in methods if results.get(m, {}).get("ok"))
    SUMMARY[version] = (len(methods), ok)
    print(f"\n{'version':<8} | {'methods':>7} | {'ok':>4}\n{version:<8} | {len(methods):>7} | {ok:>4}")
    for name, detail in failing.items():
        print(f"  FAIL {name}: {detail}")
    assert not report["uncovered"], f"public methods no step drives: {report['uncovered']}"
    assert not report["unknown"], f"steps naming methods the package lacks: {report['unknown']}"
    assert not failing, f"{len(failing)} methods of {version} fail: {sorted(failing)}"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_public_method_works(version: str) -> None:
    check(version, drive(version))


@pytest.mark.parametrize(("version", "shape"), [("0.8.1", "flat"), ("0.17.1", "ns")])
@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_their_code_runs_unchanged_on_our_sdk(version: str, shape: str, strict: bool) -> None:
    # The same calls, written for the public release, made on our FabricClient; strict=True
    # also validates every answer against the spec's models.
    report = drive(version, shape=shape, strict=strict)
    failing = {name: r["detail"] for name, r in sorted(report["results"].items()) if not r["ok"]}
    for name, detail in failing.items():
        print(f"  FAIL {name}: {detail}")
    assert not failing, f"{len(failing)} calls written for {version} fail on our SDK: {sorted(failing)}"

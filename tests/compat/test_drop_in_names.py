"""Every public method name of fabric-platform 0.8.1 and 0.17.1 exists on both our clients with a
compatible signature (same positional order and keyword names; extras only with defaults).

The public signatures are read in the throwaway venvs (``dump_signatures.py``), never imported here.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from fabric_platform import AsyncFabricClient, FabricClient

from ._signatures import incompatibility, resolve
from ._venvs import HERE, VERSIONS, clean_env, venv_python


def public_signatures(version: str) -> dict:
    done = subprocess.run(
        [str(venv_python(version)), "-s", str(HERE / "dump_signatures.py")],
        cwd=str(HERE),
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)["FabricClient"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("client_cls", [FabricClient, AsyncFabricClient])
def test_every_public_name_exists_with_a_compatible_signature(version: str, client_cls: type) -> None:
    client = client_cls(base_url="http://127.0.0.1:9", api_key="fab_test_unused")
    public = public_signatures(version)
    missing = [name for name in public if resolve(client, name) is None]
    bad = {
        name: why
        for name, sig in public.items()
        if name not in missing and (why := incompatibility(sig, resolve(client, name)))
    }
    print(
        f"\n{version} on {client_cls.__name__}: {len(public)} names, {len(missing)} missing, {len(bad)} incompatible"
    )
    assert not missing, f"{client_cls.__name__} lacks {version} names: {missing}"
    assert not bad, f"{client_cls.__name__} signatures differ from {version}: {bad}"


def test_the_checker_catches_a_reordered_or_missing_parameter() -> None:
    def ours(b: int, a: int = 0) -> None: ...

    public = [{"name": "a", "kind": "POSITIONAL_OR_KEYWORD", "has_default": False}]
    assert incompatibility(public, ours) is not None
    public = [{"name": "c", "kind": "KEYWORD_ONLY", "has_default": True}]
    assert "no parameter 'c'" in (incompatibility(public, lambda: None) or "")

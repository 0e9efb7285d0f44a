"""``fabric --help`` / ``--version`` load nothing heavy; a missing extra is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_support import SRC

import fabric_platform.cli as cli_module

HEAVY = ("httpx", "rich", "pydantic", "fabric_platform_api", "fabric_platform._client", "tomli_w", "asyncio")

_PROBE = """
import sys
from fabric_platform.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = [m for m in {heavy!r} if m in sys.modules]
sys.stderr.write("LOADED=" + ",".join(heavy) + "\\n")
"""


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_nothing_heavy(flag: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), flag],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stderr.strip().rsplit("LOADED=", 1)[1]
    assert loaded == "", f"{flag} imported {loaded}"


def test_a_missing_cli_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = cli_module.find_spec
    monkeypatch.setattr(cli_module, "find_spec", lambda name: None if name == "rich" else real(name))
    with pytest.raises(SystemExit) as exited:
        cli_module.main(["--help"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'fabric-platform[cli]'" in err and "rich" in err

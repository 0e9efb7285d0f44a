"""Runs ``fabric`` in the command-line tests: in-process (Click's runner) and as a real process."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from click.testing import CliRunner, Result

import fabric_platform
from fabric_platform.cli._app import cli
from fabric_platform.testing import LocalFabric

SRC = str(Path(fabric_platform.__file__).resolve().parents[1])


def _runner() -> CliRunner:
    # Click 8.2+ keeps stderr apart by default and removed the flag; 8.1 (the last on
    # Python 3.9) mixes them unless told not to.
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


class Fab:
    """Runs ``fabric`` against the emulator with a private ``XDG_CONFIG_HOME``."""

    def __init__(self, local: LocalFabric, config_home: Path) -> None:
        self.local = local
        self.config_home = config_home
        self.env: Dict[str, str] = {
            "XDG_CONFIG_HOME": str(config_home),
            "FABRIC_BASE_URL": local.base_url,
            "FABRIC_API_KEY": local.api_key,
            "FABRIC_ORGANIZATION_ID": local.organization_id,
            "NO_COLOR": "1",
        }

    @property
    def config_file(self) -> Path:
        return self.config_home / "fabric" / "config.toml"

    def without(self, *names: str) -> Fab:
        for name in names:
            self.env.pop(name, None)
        return self

    def run(self, *args: str, input: Optional[str] = None, env: Optional[Dict[str, str]] = None) -> Result:
        """In-process, through Click's runner (stdout and stderr kept apart)."""
        runner = _runner()
        full_env: Dict[str, Optional[str]] = {
            "FABRIC_PROFILE": None,
            "FABRIC_BASE_URL": None,
            "FABRIC_API_KEY": None,
            "FABRIC_ORGANIZATION_ID": None,
        }
        full_env.update(self.env)
        full_env.update(env or {})
        return runner.invoke(cli, list(args), input=input, env=full_env, catch_exceptions=False)

    def json(self, *args: str, **kwargs: Any) -> Any:
        result = self.run("--json", *args, **kwargs)
        assert result.exit_code == 0, result.output + result.stderr
        return json.loads(result.stdout)

    def process_env(self, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        """The environment of a ``fabric`` process: ours without ``FABRIC_*``, then the test's."""
        full = {k: v for k, v in os.environ.items() if not k.startswith("FABRIC_")}
        full.update(self.env)
        full["PYTHONPATH"] = os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])
        full.update(extra or {})
        return full

    def spawn(
        self,
        *args: str,
        input: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess:
        """As a real process: ``python -m fabric_platform ARGS``."""
        full = self.process_env(env)
        return subprocess.run(
            [sys.executable, "-m", "fabric_platform", *args],
            input=input,
            capture_output=True,
            text=True,
            env=full,
            timeout=timeout,
        )


def run_in_pty(
    fab: Fab, args: List[str], *, env: Optional[Dict[str, str]] = None, timeout: float = 60
) -> Tuple[int, str]:
    """``fabric ARGS`` on a real terminal (a pty): its exit code and all it drew."""
    full = fab.process_env({"TERM": "xterm-256color", "COLUMNS": "120"})
    full.pop("NO_COLOR", None)  # the tests' default; a test may set it again through env
    full.update(env or {})
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabric_platform", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=full,
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the process closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    return code, seen.decode("utf-8", "replace")

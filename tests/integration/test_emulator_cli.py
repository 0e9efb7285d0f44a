"""The console command: ``fabric-platform emulator`` serves until interrupted."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import httpx

import fabric_platform

SRC = str(Path(fabric_platform.__file__).resolve().parents[1])


def _spawn(args: List[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, "-m", "fabric_platform", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _read_until(proc: subprocess.Popen, pattern: str, timeout: float = 30.0) -> re.Match:
    deadline = time.monotonic() + timeout
    seen = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    proc.kill()
    raise AssertionError(f"{pattern!r} not printed; output so far:\n{''.join(seen)}")


def test_emulator_command_serves_and_stops_on_sigint(tmp_path: Path) -> None:
    proc = _spawn(
        ["emulator", "--host", "127.0.0.1", "--port", "0", "--db", str(tmp_path / "cli.db"), "--speed", "50"]
    )
    try:
        base_url = _read_until(proc, r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        api_key = _read_until(proc, r"api_key:\s+(fab_\w+)").group(1)
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}) as client:
            assert client.get("/v1/health").json()["data"]["status"] == "ok"
            me = client.get("/v1/me").json()["data"]
            assert me["authenticated"] is True
            assert client.get("/_emulator/seed").json()["data"]["api_key"] == api_key
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert (tmp_path / "cli.db").exists()


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = _spawn(["emulator", "--port", str(port)])
        try:
            output, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in output


def test_help_and_version() -> None:
    env = dict(os.environ, PYTHONPATH=SRC)
    shown = subprocess.run(
        [sys.executable, "-m", "fabric_platform", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert shown.returncode == 0 and fabric_platform.__version__ in shown.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "fabric_platform", "emulator", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert helped.returncode == 0 and "--db PATH" in helped.stdout and "--speed" in helped.stdout

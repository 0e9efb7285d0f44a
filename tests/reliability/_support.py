"""Shared pieces of the reliability scenarios: the size switch, figures, emulators, waiting."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, TypeVar

import httpx

T = TypeVar("T")

#: ``reduced`` (what ``make test`` runs) or ``full`` (``make reliability``).
SIZE = os.environ.get("FABRIC_RELIABILITY_SIZE", "reduced").strip().lower() or "reduced"
if SIZE not in ("reduced", "full"):
    raise RuntimeError(f"FABRIC_RELIABILITY_SIZE must be 'reduced' or 'full', not {SIZE!r}")
FULL = SIZE == "full"

#: Emulator settings for fast scenarios (work at 200x, cheap password hashing, short waits).
FAST: Dict[str, Any] = {"speed": 200.0, "sse_keepalive": 0.2, "password_hash_iterations": 1000}


def size(reduced: int, full: int) -> int:
    """The figure for the current size."""
    return full if FULL else reduced


@dataclass
class Figures:
    """What one scenario measured; ``None`` means "does not apply" (shown as a dash)."""

    scenario: str
    calls: int = 0
    faults: int = 0
    retries: Optional[int] = None
    duplicates: Optional[int] = None
    lost: Optional[int] = None
    memory_growth: Optional[int] = None  # bytes (tracemalloc)
    notes: List[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(text)


def wait_until(
    predicate: Callable[[], Optional[T]],
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "condition",
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def open_sockets() -> int:
    """Sockets this process holds open (Linux: /proc/self/fd)."""
    count = 0
    fd_dir = Path("/proc/self/fd")
    for entry in fd_dir.iterdir():
        try:
            if os.readlink(entry).startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


class EmulatorProcess:
    """``fabric-platform emulator`` in a subprocess on 127.0.0.1, stopped with SIGKILL.

    A separate process is what makes "killed" real (no shutdown hook runs, the SQLite WAL is
    left as the crash left it) and keeps the emulator's own allocations and sockets out of
    this process's tracemalloc and file descriptors.
    """

    def __init__(self, *, port: int, db: Optional[str] = None, speed: float = 1.0) -> None:
        self.port = port
        self.db = db
        self.speed = speed
        self.proc: Optional[subprocess.Popen[str]] = None
        self._reader: Optional[threading.Thread] = None
        self.output: List[str] = []
        self.seed: Dict[str, Any] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> EmulatorProcess:
        cmd = [
            sys.executable,
            "-m",
            "fabric_platform",
            "emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--speed",
            str(self.speed),
            "--log-level",
            "warning",
        ]
        if self.db:
            cmd += ["--db", self.db]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        ready = threading.Event()
        self._reader = threading.Thread(target=self._read_output, args=(self.proc, ready), daemon=True)
        self._reader.start()
        if not ready.wait(timeout):
            self.kill()
            raise AssertionError(f"the emulator did not start:\n{''.join(self.output)}")
        with httpx.Client(base_url=self.base_url, timeout=10.0) as http:
            self.seed = http.get("/_emulator/seed").json()["data"]
        return self

    def _read_output(self, proc: subprocess.Popen[str], ready: threading.Event) -> None:
        assert proc.stdout is not None
        with proc.stdout:  # ends at EOF, i.e. when the process is gone
            for line in proc.stdout:
                self.output.append(line)
                if re.search(r"listening on http://", line):
                    ready.set()

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown of anything."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        if proc is not None:
            proc.wait(10)
        if self._reader is not None:
            self._reader.join(10)
        self.proc = None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()

"""Live progress for runs (a bar per variant) and downloads (bytes, speed, ETA).

Both are driven by the SDK's progress callbacks, which share one shape (``done``,
``total``, ``fraction``, ``label``; see ``fabric_platform._progress``). On a terminal they
are Rich progress bars on stderr; when stderr is not a terminal, a plain line per change;
under ``--json`` nothing (stdout carries the one JSON document).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Dict, Optional, Set

import click

__all__ = ["DownloadBars", "RunBars"]


def _live(json_mode: bool) -> bool:
    return not json_mode and sys.stderr.isatty()


class RunBars:
    """One bar per variant of a run: percentage, current task, elapsed time."""

    def __init__(self, run: Dict[str, Any], *, json_mode: bool) -> None:
        self.run_id = str(run.get("id"))
        self.quiet = json_mode
        self.live = _live(json_mode)
        self._progress: Any = None
        self._tasks: Dict[int, Any] = {}
        self._last_plain: Dict[int, str] = {}
        self._started = time.monotonic()
        self._variants = max(1, int(run.get("variants") or 1))

    def __enter__(self) -> RunBars:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[current]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            for index in range(self._variants):
                self._task(index)
        return self

    def _task(self, index: int) -> Any:
        task = self._tasks.get(index)
        if task is None:
            label = f"variant {index}" if self._variants > 1 else f"run {self.run_id[:8]}"
            task = self._tasks[index] = self._progress.add_task(label, total=100.0, current="")
        return task

    def update(self, progress: Any) -> None:
        """The ``on_progress`` callback: a :class:`~fabric_platform.RunProgress`."""
        parts = list(progress.variants) or [progress]
        for index, part in enumerate(parts):
            key = getattr(part, "variant_index", index)
            self._show(key, part.percentage, part.label)

    def _show(self, index: int, percentage: float, label: Optional[str]) -> None:
        if self.quiet:
            return
        if self._progress is not None:
            self._progress.update(self._task(index), completed=percentage, current=label or "")
            return
        line = f"{'variant ' + str(index) if self._variants > 1 else 'run ' + self.run_id[:8]}: {percentage:5.1f}%"
        line += f"  {label}" if label else ""
        if line != self._last_plain.get(index):  # plain output: a line per change, per variant
            self._last_plain[index] = line
            click.echo(line, err=True)

    def finish(self, run: Dict[str, Any]) -> None:
        """Show the terminal state: full bars for a completed run, as they stand otherwise."""
        if run.get("status") == "completed":
            for index in range(self._variants):
                self._show(index, 100.0, None)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


class DownloadBars:
    """One bar per file: bytes so far, size, speed and time left."""

    def __init__(self, *, json_mode: bool) -> None:
        self.quiet = json_mode
        self.live = _live(json_mode)
        self._progress: Any = None
        self._tasks: Dict[str, Any] = {}
        self._started: Dict[str, float] = {}
        self._done: Set[str] = set()

    def __enter__(self) -> DownloadBars:
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
        return self

    def update(self, progress: Any) -> None:
        """The ``on_progress`` callback: a :class:`~fabric_platform.DownloadProgress`."""
        if self.quiet:
            return
        if self._progress is not None:
            task = self._tasks.get(progress.label)
            if task is None:
                task = self._tasks[progress.label] = self._progress.add_task(
                    progress.label, total=progress.total
                )
            self._progress.update(task, completed=progress.done, total=progress.total)
            return
        # Plain: the start and the end of each file.
        if progress.label not in self._started:
            self._started[progress.label] = time.monotonic()
            size = f"{progress.total} bytes" if progress.total is not None else "size unknown"
            click.echo(f"downloading {progress.label} ({size})", err=True)
        if (
            progress.total is not None
            and progress.done == progress.total
            and progress.label not in self._done
        ):
            self._done.add(progress.label)
            took = max(time.monotonic() - self._started[progress.label], 1e-6)
            rate = progress.done / took / 1e6
            click.echo(
                f"downloaded {progress.label}: {progress.done} bytes in {took:.2f} s ({rate:.1f} MB/s)",
                err=True,
            )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

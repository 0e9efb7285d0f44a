"""The progress shape every SDK callback shares (``wait_for_run`` and the downloads).

Every ``on_progress`` callback receives one object with at least:

* ``done`` — units finished so far (tasks of a run, bytes of a download);
* ``total`` — units in all, or None when not known yet;
* ``fraction`` — ``done / total`` in 0.0–1.0, or None without a total;
* ``label`` — what is progressing (the run's current task, the file's name).

``wait_for_run`` passes a :class:`RunProgress` per ``workflow.run.progress`` event (it is
also the event itself, as a mapping: ``p["kind"]``, ``p["data"]``); downloads pass a
:class:`~fabric_platform.DownloadProgress`. So one progress bar drives either.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Mapping, NamedTuple, Optional

__all__ = ["RunProgress", "VariantProgress"]


def _number(value: Any) -> Optional[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


class VariantProgress(NamedTuple):
    """How far one variant (or bundle entry) of a fanned-out run has got.

    Attributes:
        variant_index: The variant's index (0-based).
        done: Tasks completed.
        total: Tasks in all.
        label: The task running now, or None.
        percentage: 0–100.
    """

    variant_index: int
    done: int
    total: Optional[int]
    label: Optional[str]
    percentage: float

    @property
    def fraction(self) -> Optional[float]:
        """``percentage / 100``."""
        return self.percentage / 100.0


class RunProgress(Mapping[str, Any]):
    """One ``workflow.run.progress`` event, readable as the event and as progress.

    Attributes:
        run_id: The run.
        status: The run's status when the event was sent.
        done: Tasks completed (``progress.completed_tasks``).
        total: Tasks in all (``progress.total_tasks``).
        label: The task running now (``progress.current_task``), or None.
        percentage: 0–100 (``progress.percentage``).
        variants: Per-variant progress of a fanned-out run (empty when the server sends none).
    """

    __slots__ = ("_event", "done", "label", "percentage", "run_id", "status", "total", "variants")

    def __init__(self, event: Mapping[str, Any]) -> None:
        self._event = event
        raw_data = event.get("data")
        data: Mapping[str, Any] = raw_data if isinstance(raw_data, Mapping) else {}
        raw_progress = data.get("progress")
        progress: Mapping[str, Any] = raw_progress if isinstance(raw_progress, Mapping) else {}
        self.run_id: Optional[str] = event.get("run_id")
        self.status: Optional[str] = data.get("status")
        self.done = _count(progress.get("completed_tasks"))
        total = progress.get("total_tasks")
        self.total: Optional[int] = total if isinstance(total, int) and not isinstance(total, bool) else None
        label = progress.get("current_task")
        self.label: Optional[str] = label if isinstance(label, str) else None
        pct = _number(progress.get("percentage"))
        if pct is None:
            pct = 100.0 * self.done / self.total if self.total else 0.0
        self.percentage = max(0.0, min(100.0, pct))
        self.variants: List[VariantProgress] = []
        for entry in progress.get("variants") or ():
            if isinstance(entry, Mapping) and isinstance(entry.get("variant_index"), int):
                current = entry.get("current_task")
                self.variants.append(
                    VariantProgress(
                        variant_index=entry["variant_index"],
                        done=_count(entry.get("completed_tasks")),
                        total=_count(entry.get("total_tasks")),
                        label=current if isinstance(current, str) else None,
                        percentage=max(0.0, min(100.0, _number(entry.get("percentage")) or 0.0)),
                    )
                )

    @property
    def fraction(self) -> Optional[float]:
        """``percentage / 100`` (0.0–1.0)."""
        return self.percentage / 100.0

    # -- the event, as a mapping (what earlier callbacks received) -------------------------
    def __getitem__(self, key: str) -> Any:
        return self._event[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._event)

    def __len__(self) -> int:
        return len(self._event)

    def __repr__(self) -> str:
        return f"RunProgress(run_id={self.run_id!r}, done={self.done}, total={self.total}, label={self.label!r}, percentage={self.percentage:g})"

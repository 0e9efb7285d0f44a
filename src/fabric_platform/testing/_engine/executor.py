"""How runs move: the asyncio tasks that drive them, persistence, events and node state.

The base mixin of :class:`~.engine.Engine`; ``definition.py`` and ``named_executor.py``
add how definition runs and named runs execute. Invariants:

* Every await is a point where the task may be cancelled (pause, cancel, shutdown). Whoever
  cancels has already written the new status, so the task just stops; state is only written
  between awaits, reloaded from the store after each one.
* A step's effects are persisted before its events are published, so anyone woken by an
  event reads state that is at least as new as the event.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, cast

from .._infra.http import ApiError

if TYPE_CHECKING:
    from .._state import Emulator

log = logging.getLogger(__name__)

RUNS = "workflow_runs"
DEFINITIONS = "workflow_definitions"
ARTIFACTS = "run_artifacts"
USAGE = "usage_records"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
DONE_NODE = frozenset({"completed", "skipped"})


class RunExecutor:
    """Persistence, events and the tasks that drive runs; shared by both kinds of run."""

    emulator: Emulator
    _tasks: Dict[str, asyncio.Task[None]]
    _waiters: Dict[str, List[asyncio.Future[None]]]
    _stopping: bool
    can_start: Callable[[str], bool]

    # ------------------------------------------------------------------ persistence and events
    def get(self, run_id: str) -> Optional[Dict[str, Any]]:
        return self.emulator.store.get(RUNS, run_id)

    def _driven(self, run_id: str) -> Dict[str, Any]:
        """The run a task is driving, read afresh; tasks exist only for stored runs."""
        # A cast, not a check: should the run vanish, the task fails as it always has.
        return cast(Dict[str, Any], self.emulator.store.get(RUNS, run_id))

    def _require(self, run_id: str) -> Dict[str, Any]:
        run = self.get(run_id)
        if run is None:
            raise ApiError(404, "not_found", "run not found")
        return run

    def _progress(self, run: Dict[str, Any]) -> Dict[str, Any]:
        visible = [n for n in run["_nodes"] if not n.get("internal")]
        done = sum(1 for n in visible if n["status"] in DONE_NODE)
        current = next((n["key"] for n in reversed(visible) if n["status"] in ("running", "waiting")), None)
        total = len(visible)
        if total:
            pct = round(100.0 * done / total, 1)
        else:
            pct = 100.0 if run["status"] == "completed" else 0.0
        progress: Dict[str, Any] = {
            "total_tasks": total,
            "completed_tasks": done,
            "current_task": current,
            "percentage": pct,
        }
        indexes = sorted({n["variant_index"] for n in visible if isinstance(n.get("variant_index"), int)})
        if len(indexes) > 1:
            # Fanned-out runs (variants, bundles) also say how far each entry has got, so a
            # client can draw one bar per variant from the progress events alone.
            progress["variants"] = [
                self._variant_progress(i, [n for n in visible if n.get("variant_index") == i])
                for i in indexes
            ]
        return progress

    @staticmethod
    def _variant_progress(index: int, nodes: List[Dict[str, Any]]) -> Dict[str, Any]:
        done = sum(1 for n in nodes if n["status"] in DONE_NODE)
        current = next((n["key"] for n in reversed(nodes) if n["status"] in ("running", "waiting")), None)
        pct = round(100.0 * done / len(nodes), 1) if nodes else 0.0
        return {
            "variant_index": index,
            "total_tasks": len(nodes),
            "completed_tasks": done,
            "current_task": current,
            "percentage": pct,
        }

    def _save(self, run: Dict[str, Any]) -> None:
        run["progress"] = self._progress(run)
        run["updated_at"] = self.emulator.clock.now_iso()
        self.emulator.store.put(RUNS, run)

    def _log(self, run: Dict[str, Any], level: str, node_key: Optional[str], message: str) -> None:
        run["_log"].append(
            {
                "timestamp": self.emulator.clock.now_iso(),
                "level": level,
                "node_key": node_key,
                "message": message,
            }
        )

    def _emit(
        self,
        kind: str,
        run: Dict[str, Any],
        *,
        node_key: Optional[str] = None,
        data: Optional[Dict[str, Any]] = None,
        internal: bool = False,
    ) -> None:
        self.emulator.events.publish(
            kind,
            organization_id=run["organization_id"],
            run_id=run["id"],
            node_key=node_key,
            data=data or {},
            internal=internal,
        )

    def _record_usage(
        self, run: Dict[str, Any], *, modality: str, provider: str, model: str, units: float, cost_usd: float
    ) -> None:
        self.emulator.store.insert(
            USAGE,
            {
                "id": str(uuid.uuid4()),
                "organization_id": run["organization_id"],
                "job_id": None,
                "run_id": run["id"],
                "modality": modality,
                "provider": provider,
                "model": model,
                "units": units,
                "cost_usd": round(float(cost_usd), 6),
                "created_at": self.emulator.clock.now_iso(),
            },
        )

    def _finish(
        self,
        run: Dict[str, Any],
        status: str,
        *,
        output: Any = None,
        error: Optional[str] = None,
        message: Optional[str] = None,
        data: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Move a run to a terminal status, tell waiters (parent runs) and free its slot."""
        run["status"] = status
        run["completed_at"] = self.emulator.clock.now_iso()
        if status == "completed":
            run["output"] = output
        run["error"] = error
        level = "error" if status == "failed" else "info"
        self._log(run, level, None, message or (f"run {status}" + (f": {error}" if error else "")))
        self._save(run)
        payload: Dict[str, Any] = {"status": status, "workflow_name": run.get("workflow_name")}
        if error:
            payload["error"] = error
        payload.update(data or {})
        self._emit(f"workflow.run.{status}", run, data=payload)
        for fut in self._waiters.pop(run["id"], []):
            if not fut.done():
                fut.set_result(None)
        self._pump()

    # ------------------------------------------------------------------ tasks
    def _spawn(self, run_id: str) -> None:
        if self._stopping:
            return
        task = self._tasks.get(run_id)
        if task is not None and not task.done():
            return
        self._tasks[run_id] = asyncio.get_running_loop().create_task(
            self._drive(run_id), name=f"run-{run_id}"
        )

    def _stop_task(self, run_id: str) -> None:
        task = self._tasks.pop(run_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _pump(self) -> None:
        """Hand pending runs whose start was requested to tasks, as far as ``can_start`` allows."""
        if self._stopping:
            return
        # Filtered in SQL: this runs on every transition, so it must not load every run.
        pending = self.emulator.store.find(RUNS, where={"status": "pending", "_start_requested": True})
        pending = [d for d in pending if d["id"] not in self._tasks]
        pending.sort(key=lambda d: (-(d.get("priority") or 0), d["created_at"]))
        for run in pending:
            if self.can_start(run["organization_id"]):
                self._spawn(run["id"])

    async def _wait_terminal(self, run_id: str) -> Dict[str, Any]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(run_id, []).append(fut)
        try:
            run = self.emulator.store.get(RUNS, run_id)
            if run is None or run["status"] in TERMINAL:
                return run or {"status": "failed", "error": "child run vanished"}
            await fut
            return self.emulator.store.get(RUNS, run_id) or {
                "status": "failed",
                "error": "child run vanished",
            }
        finally:
            waiters = self._waiters.get(run_id)
            if waiters and fut in waiters:
                waiters.remove(fut)

    async def _drive(self, run_id: str) -> None:
        try:
            run = self.emulator.store.get(RUNS, run_id)
            if run is None:
                return
            if run["status"] == "pending":
                run["status"] = "running"
                run["started_at"] = run.get("started_at") or self.emulator.clock.now_iso()
                self._log(run, "info", None, "run started")
                self._save(run)
                self._emit(
                    "workflow.run.started",
                    run,
                    data={"status": "running", "workflow_name": run.get("workflow_name")},
                )
            if run["status"] != "running":
                return
            if run["_mode"] == "definition":
                await self._drive_definition(run_id)  # type: ignore[attr-defined]
            else:
                await self._drive_named(run_id)  # type: ignore[attr-defined]
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must show up as a failed run, never as a stuck one
            log.exception("run %s crashed", run_id)
            run = self.emulator.store.get(RUNS, run_id)
            if run is not None and run["status"] not in TERMINAL:
                self._finish(run, "failed", error=f"internal error: {type(exc).__name__}: {exc}")
        finally:
            if self._tasks.get(run_id) is asyncio.current_task():
                del self._tasks[run_id]

    # ------------------------------------------------------------------ node state
    def _start_node(self, run: Dict[str, Any], node: Dict[str, Any]) -> None:
        node.update(status="running", started_at=self.emulator.clock.now_iso(), error=None)
        self._log(run, "info", node["key"], f"node started ({node['type']})")
        self._save(run)
        self._emit(
            "workflow.node.started",
            run,
            node_key=node["key"],
            data={"type": node["type"]},
            internal=bool(node.get("internal")),
        )

    def _complete_node(
        self, run: Dict[str, Any], node: Dict[str, Any], output: Any, cost: float = 0.0
    ) -> None:
        node.update(
            status="completed",
            completed_at=self.emulator.clock.now_iso(),
            output=output,
            cost_usd=round(float(node.get("cost_usd") or 0) + cost, 6),
        )
        self._log(run, "info", node["key"], "node completed")
        self._save(run)
        internal = bool(node.get("internal"))
        self._emit(
            "workflow.node.completed",
            run,
            node_key=node["key"],
            data={"type": node["type"]},
            internal=internal,
        )
        if not internal:
            self._emit(
                "workflow.run.progress", run, data={"status": run["status"], "progress": run["progress"]}
            )

    def _fail_node(self, run: Dict[str, Any], node: Dict[str, Any], error: str) -> None:
        node.update(status="failed", completed_at=self.emulator.clock.now_iso(), error=error)
        self._log(run, "error", node["key"], f"node failed: {error}")
        self._save(run)
        self._emit(
            "workflow.node.failed",
            run,
            node_key=node["key"],
            data={"error": error},
            internal=bool(node.get("internal")),
        )

    def _enter_waiting(self, run: Dict[str, Any], node: Dict[str, Any]) -> None:
        node["status"] = "waiting"
        run["status"] = "waiting"
        self._log(run, "info", node["key"], f"waiting ({node['type']}): resume the node to continue")
        self._save(run)
        self._emit("workflow.node.waiting", run, node_key=node["key"], data={"type": node["type"]})
        self._emit("workflow.run.waiting", run, data={"status": "waiting", "node_key": node["key"]})
        self._pump()

"""The run engine: every workflow run (definition runs and named runs) lives and moves here.

State lives in the store (kind ``workflow_runs``), never only in memory: a run's nodes, log and
per-variant outputs are private fields (``_``-prefixed, stripped by :func:`public_run`) of the
run document. An asyncio task drives a run forward one step at a time, persisting after each
step, so a restarted emulator picks every ``pending``/``running`` run up where it stopped
(``start()``) and the only thing ever lost is the step in progress, which is redone.

Statuses and the operations that move them (anything else is 409 ``conflict``)::

    pending ──start──▶ running ──▶ completed | failed
       │                 │  ▲
       │                 ▼  │ resume_node / approve / signal (the waiting node completes)
       │              waiting
       └── pause (pending, running, waiting) ──▶ paused ──resume──▶ the status it was paused from
    cancel: any non-terminal status ──▶ cancelled (children spawned by subworkflow nodes too)
    recover: failed (or running/pending with no task driving it) ──▶ running, from the node
             that failed; completed nodes and finished variants are not redone.

* ``resume_node(key, data)`` completes that waiting node with ``data`` as its output; an
  approval node given ``{"approved": false}`` fails instead, and the run with it.
* ``approve(approved, reason, data)`` resumes the run's waiting node (an approval node first)
  with ``{approved, reason, **data}``.
* ``signal(name, payload)`` resumes the waiting node whose key is ``name`` or whose
  ``wait_for_input`` config says ``signal: name``; with no such node waiting, the signal is
  kept and a ``wait_for_input`` node listening for it later completes at once.
* Pausing interrupts the step in progress (a delay restarts from zero on resume).

Policies are constructor arguments. Concurrency: ``can_start(org_id)`` is asked before a pending run is handed to a task; runs it
refuses stay ``pending`` and are offered again whenever another run stops running.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

from .._infra.http import ApiError
from .._infra.signing import UrlSigner
from .definition import DefinitionExecutor
from .executor import ARTIFACTS, DEFINITIONS, RUNS, TERMINAL, USAGE
from .named import InputResolver, build_plan, resolve
from .named_executor import NamedExecutor
from .views import RunViews, public_nodes, public_run

if TYPE_CHECKING:
    from .._infra.clock import Clock
    from .._infra.store import Store
    from .._state import Emulator

__all__ = ["ARTIFACTS", "DEFINITIONS", "RUNS", "TERMINAL", "USAGE", "Engine", "public_nodes", "public_run"]

log = logging.getLogger(__name__)

# Policies the engine is constructed with (the emulator passes its concurrency limits, budgets
# and persona galleries):
# ``can_start(org_id)``: may a pending run of the organization start now?
CanStart = Callable[[str], bool]
# ``admit(org_id, workflow_name, input)``: raise ApiError to refuse a new top-level run;
# ``workflow_name`` is the named workflow submitted, None for a definition run.
Admit = Callable[[str, Optional[str], Dict[str, Any]], None]


class Engine(RunViews, NamedExecutor, DefinitionExecutor):
    """One per emulator (``emulator.engine``); all methods run on the server's event loop."""

    def __init__(
        self,
        emulator: Emulator,
        *,
        can_start: CanStart,
        admit: Admit,
        input_resolvers: Sequence[InputResolver] = (),
    ) -> None:
        self.emulator = emulator
        self.can_start = can_start
        self.admit = admit
        self.input_resolvers = tuple(input_resolvers)
        self._tasks: Dict[str, asyncio.Task[None]] = {}
        self._waiters: Dict[str, List[asyncio.Future[None]]] = {}
        self._artifact_specs: Dict[str, Any] = {}
        self._signer: Optional[UrlSigner] = None
        self._stopping = False

    # ------------------------------------------------------------------ plumbing
    @property
    def store(self) -> Store:
        return self.emulator.store

    @property
    def clock(self) -> Clock:
        return self.emulator.clock

    async def start(self) -> None:
        """Pick up runs that were in flight when the emulator last stopped."""
        self._stopping = False
        for run in self.store.find(RUNS, where={"status": "running"}):
            self._log(run, "info", None, "resumed after an emulator restart")
            self._save(run)
            self._spawn(run["id"])
        self._pump()

    async def stop(self) -> None:
        """Stop driving runs; their state stays in the store for the next start()."""
        self._stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    # ------------------------------------------------------------------ creation
    def _new_run(
        self,
        *,
        org_id: str,
        team_id: Optional[str],
        created_by: Optional[str],
        mode: str,
        workflow_name: Optional[str],
        definition_id: Optional[str],
        input: Dict[str, Any],
        metadata: Optional[Dict[str, Any]],
        priority: Optional[int],
        variants: int,
        nodes: List[Dict[str, Any]],
        entries: Optional[List[Dict[str, Any]]] = None,
        parent_run_id: Optional[str] = None,
        parent_variant_index: Optional[int] = None,
        lineage: Optional[str] = None,
        depth: int = 0,
        extra: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        now = self.clock.now_iso()
        doc: Dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "organization_id": org_id,
            "team_id": team_id,
            "workflow_definition_id": definition_id,
            "workflow_name": workflow_name,
            "created_by": created_by,
            "status": "pending",
            "progress": {},
            "input": input,
            "output": None,
            "error": None,
            "variants": variants,
            "priority": priority,
            "metadata": metadata,
            "parent_run_id": parent_run_id,
            "parent_variant_index": parent_variant_index,
            "created_at": now,
            "started_at": None,
            "completed_at": None,
            "updated_at": now,
            **(extra or {}),
            "_mode": mode,
            "_start_requested": False,
            "_nodes": [{**n, "status": "pending"} for n in nodes],
            "_log": [],
            "_entries": entries or [],
            "_outputs": [{"status": "pending", "output": None} for _ in (entries or [])],
            "_signals": [],
            "_lineage": lineage,
            "_depth": depth,
        }
        doc["progress"] = self._progress(doc)
        self._log(doc, "info", None, f"run created ({workflow_name or definition_id})")
        self.store.insert(RUNS, doc)
        self._emit("workflow.run.created", doc, data={"status": "pending", "workflow_name": workflow_name})
        return doc

    def create_definition_run(
        self,
        definition: Dict[str, Any],
        *,
        context: Dict[str, Any],
        metadata: Optional[Dict[str, Any]] = None,
        environment: Any = None,
        created_by: Optional[str] = None,
        team_id: Optional[str] = None,
        parent: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        """A pending run of a definition (the legacy create; ``start_run`` starts it).

        The definition's nodes are copied into the run, so editing the definition later does
        not change runs already created from it.
        """
        extra = {"environment": environment, "workflow_version": definition.get("version")}
        if parent is None:
            self.admit(definition["organization_id"], None, context)
        return self._new_run(
            org_id=definition["organization_id"],
            team_id=team_id,
            created_by=created_by,
            mode="definition",
            workflow_name=definition.get("name"),
            definition_id=definition["id"],
            input=context,
            metadata=metadata,
            priority=None,
            variants=1,
            nodes=[
                {"key": n["key"], "type": n["type"], "config": n.get("config") or {}}
                for n in definition["nodes"]
            ],
            parent_run_id=parent["id"] if parent else None,
            lineage="subworkflow" if parent else None,
            depth=(parent.get("_depth", 0) + 1) if parent else 0,
            extra=extra,
        )

    def start_run(self, run_id: str, priority: Optional[int] = None) -> Dict[str, Any]:
        run = self._require(run_id)
        if run["status"] != "pending" or run.get("_start_requested"):
            raise ApiError(409, "conflict", f"run {run_id} was already started (status {run['status']})")
        run["_start_requested"] = True
        if priority is not None:
            run["priority"] = priority
        self._save(run)
        self._pump()
        return self.get(run_id) or run

    def submit_named(
        self,
        org_id: str,
        name: str,
        input: Dict[str, Any],
        *,
        team_id: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        priority: Optional[int] = None,
        created_by: Optional[str] = None,
        validate: bool = False,
        parent: Optional[Dict[str, Any]] = None,
        start: bool = True,
    ) -> Dict[str, Any]:
        """Create and start a run of a named workflow (built-in, registered, or a bundle).

        ``start=False`` leaves it pending for ``start_run`` (the legacy two-phase create).
        """
        plan = build_plan(self.store, org_id, name, input, validate=validate, resolvers=self.input_resolvers)
        if parent is None:
            self.admit(org_id, name, input)
        nodes: List[Dict[str, Any]] = [
            {"key": "_prepare_input", "type": "shim", "internal": True, "config": {}}
        ]
        single = len(plan.entries) == 1
        for entry in plan.entries:
            wf = resolve(self.store, org_id, entry["workflow_name"])
            tasks = wf.tasks if wf is not None else [entry["workflow_name"]]
            i = entry["variant_index"]
            for task in tasks:
                nodes.append(
                    {
                        "key": task if single else f"{task}[{i}]",
                        "type": "task",
                        "task": task,
                        "entry": i,
                        "variant_index": i,
                        "config": {},
                    }
                )
        nodes.append({"key": "_collect_outputs", "type": "shim", "internal": True, "config": {}})
        lineage: Optional[str]
        if parent is not None:
            lineage, parent_id, parent_index = "subworkflow", parent["id"], None
        else:
            lineage = "regenerate" if plan.parent_run_id or plan.parent_variant_index is not None else None
            parent_id, parent_index = plan.parent_run_id, plan.parent_variant_index
        run = self._new_run(
            org_id=org_id,
            team_id=team_id,
            created_by=created_by,
            mode="named",
            workflow_name=name,
            definition_id=None,
            input=input,
            metadata=metadata,
            priority=priority,
            variants=len(plan.entries),
            nodes=nodes,
            entries=plan.entries,
            parent_run_id=parent_id,
            parent_variant_index=parent_index,
            lineage=lineage,
            depth=(parent.get("_depth", 0) + 1) if parent else 0,
        )
        return self.start_run(run["id"]) if start else run

    # ------------------------------------------------------------------ control
    def cancel(self, run_id: str, reason: Optional[str] = None) -> Dict[str, Any]:
        run = self._require(run_id)
        if run["status"] in TERMINAL:
            raise ApiError(409, "conflict", f"run is already {run['status']}")
        self._stop_task(run_id)
        for node in run["_nodes"]:
            if node["status"] in ("pending", "running", "waiting"):
                node["status"] = "cancelled"
        run["cancel_reason"] = reason
        self._finish(
            run,
            "cancelled",
            message="run cancelled" + (f": {reason}" if reason else ""),
            data={"reason": reason},
        )
        for child in self.store.find(RUNS, where={"parent_run_id": run_id, "_lineage": "subworkflow"}):
            if child["status"] not in TERMINAL:
                self.cancel(child["id"], "parent run cancelled")
        return self.get(run_id) or run

    def bulk_cancel(self, run_ids: List[str], visible: Any) -> Dict[str, Any]:
        """Cancel each run ``visible(run)`` allows; the others are reported, not raised."""
        cancelled: List[str] = []
        not_cancelled: List[Dict[str, str]] = []
        for run_id in run_ids:
            run = self.get(run_id)
            if run is None or not visible(run):
                not_cancelled.append({"id": run_id, "reason": "not_found"})
            elif run["status"] in TERMINAL:
                not_cancelled.append({"id": run_id, "reason": f"already {run['status']}"})
            else:
                self.cancel(run_id, "bulk cancel")
                cancelled.append(run_id)
        return {"cancelled": cancelled, "not_cancelled": not_cancelled}

    def pause(self, run_id: str, reason: Optional[str] = None) -> Dict[str, Any]:
        run = self._require(run_id)
        if run["status"] not in ("pending", "running", "waiting"):
            raise ApiError(
                409,
                "conflict",
                f"only pending, running or waiting runs can be paused (run is {run['status']})",
            )
        self._stop_task(run_id)
        run["_paused_from"] = run["status"]
        run["status"] = "paused"
        run["pause_reason"] = reason
        self._log(run, "info", None, "run paused" + (f": {reason}" if reason else ""))
        self._save(run)
        self._emit("workflow.run.paused", run, data={"status": "paused", "reason": reason})
        self._pump()
        return run

    def resume(self, run_id: str) -> Dict[str, Any]:
        run = self._require(run_id)
        if run["status"] != "paused":
            raise ApiError(409, "conflict", f"only paused runs can be resumed (run is {run['status']})")
        previous = run.pop("_paused_from", "running")
        run["pause_reason"] = None
        if previous == "waiting" and any(n["status"] == "waiting" for n in run["_nodes"]):
            run["status"] = "waiting"
        elif previous == "pending" or not run.get("started_at"):
            run["status"] = "pending"
        else:
            run["status"] = "running"
        self._log(run, "info", None, "run resumed")
        self._save(run)
        self._emit("workflow.run.resumed", run, data={"status": run["status"], "from": "paused"})
        if run["status"] == "running":
            self._spawn(run_id)
        self._pump()
        return self.get(run_id) or run

    def recover(self, run_id: str) -> Dict[str, Any]:
        run = self._require(run_id)
        stuck = (
            run["status"] in ("pending", "running")
            and run.get("_start_requested")
            and run_id not in self._tasks
        )
        if run["status"] != "failed" and not stuck:
            raise ApiError(
                409, "conflict", f"only failed or stuck runs can be recovered (run is {run['status']})"
            )
        for node in run["_nodes"]:
            if node["status"] in ("failed", "running"):
                if node["status"] == "failed":
                    node.pop("child_run_id", None)  # a failed child is retried as a new child run
                node.update(status="pending", error=None, started_at=None, completed_at=None)
        for out in run["_outputs"]:
            if out["status"] == "failed":
                out.update(status="pending", error=None)
        run.update(status="running", error=None, completed_at=None)
        run["started_at"] = run.get("started_at") or self.clock.now_iso()
        self._log(run, "info", None, "run recovered: continuing from the first unfinished node")
        self._save(run)
        self._emit("workflow.run.resumed", run, data={"status": "running", "from": "recover"})
        self._spawn(run_id)
        return self.get(run_id) or run

"""Executing workflow definitions node by node (a mixin of :class:`~.engine.Engine`).

Each node runs to an outcome: completed (with an output), waiting (approval/wait_for_input:
the task ends and ``resume_node``/``approve``/``signal`` restarts it) or failed (the run fails).
A node reads the previous node's object output, or the run's context for the first node.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from .._infra.http import ApiError
from . import nodes as nodes_mod
from .executor import DEFINITIONS, DONE_NODE, TERMINAL, RunExecutor
from .named import resolve

MAX_DEPTH = 5  # subworkflow nesting: a definition that runs itself must not recurse forever

# Simulated work per node type at speed 1 (seconds); `delay` uses its own config.
_NODE_SECONDS = {"ai_generate": 0.3, "transform": 0.05}


class _Outcome:
    __slots__ = ("error", "output", "status")

    def __init__(self, status: str, output: Any = None, error: Optional[str] = None) -> None:
        self.status, self.output, self.error = status, output, error


class DefinitionExecutor(RunExecutor):
    """Drives runs of workflow definitions (``_mode == "definition"``)."""

    async def _drive_definition(self, run_id: str) -> None:
        while True:
            run = self.get(run_id)
            if run is None or run["status"] != "running":
                return
            index = next((i for i, n in enumerate(run["_nodes"]) if n["status"] not in DONE_NODE), None)
            if index is None:
                outputs = {n["key"]: n.get("output") for n in run["_nodes"]}
                self._finish(run, "completed", output=outputs)
                return
            node = run["_nodes"][index]
            if node["status"] == "waiting":
                self._enter_waiting(run, node)
                return
            if node["status"] != "running":
                self._start_node(run, node)
            outcome = await self._execute(run_id, index)
            run = self.get(run_id)
            if run is None or run["status"] != "running":
                return
            node = run["_nodes"][index]
            if outcome.status == "completed":
                cost = (
                    float((outcome.output or {}).get("usage", {}).get("cost_usd", 0))
                    if node["type"] == "ai_generate"
                    else 0.0
                )
                self._complete_node(run, node, outcome.output, cost)
            elif outcome.status == "waiting":
                self._enter_waiting(run, node)
                return
            else:
                self._fail_node(run, node, outcome.error or "node failed")
                self._finish(run, "failed", error=f"node {node['key']}: {outcome.error}")
                return

    def _node_input(self, run: Dict[str, Any], index: int) -> Dict[str, Any]:
        """What a node reads: the previous node's object output, else the run's context."""
        for prev in reversed(run["_nodes"][:index]):
            output = prev.get("output")
            if prev["status"] == "completed" and isinstance(output, dict):
                return output
        return run.get("input") or {}

    async def _execute(self, run_id: str, index: int) -> _Outcome:
        clock = self.emulator.clock
        run = self._driven(run_id)
        node = run["_nodes"][index]
        ntype, config = node["type"], node.get("config") or {}
        outputs = {n["key"]: n.get("output") for n in run["_nodes"] if n["status"] == "completed"}
        context = run.get("input") or {}
        if ntype == "ai_generate":
            await clock.sleep(_NODE_SECONDS["ai_generate"])
            model = config.get("model") or nodes_mod.DEFAULT_MODEL
            prompt = nodes_mod.render_template(config.get("prompt") or "", context, outputs)
            result = nodes_mod.ai_generate(prompt, model, max_tokens=config.get("max_tokens"))
            usage = result["usage"]
            run = self._driven(run_id)
            self._record_usage(
                run,
                modality="text",
                provider=result["provider"],
                model=model,
                units=usage["input_units"] + usage["output_units"],
                cost_usd=usage["cost_usd"],
            )
            return _Outcome("completed", result)
        if ntype == "transform":
            await clock.sleep(_NODE_SECONDS["transform"])
            return _Outcome(
                "completed", nodes_mod.apply_transform(config, self._node_input(run, index), outputs)
            )
        if ntype == "delay":
            await clock.sleep(float(config.get("seconds") or 0))
            return _Outcome("completed", {"slept_seconds": config.get("seconds") or 0})
        if ntype == "fail":
            return _Outcome("failed", error=config.get("message") or "failed by a fail node")
        if ntype in nodes_mod.WAITING_TYPES:
            wanted = config.get("signal") if ntype == "wait_for_input" else None
            kept = next((s for s in run["_signals"] if wanted and s["name"] == wanted), None)
            if kept is not None:  # the signal arrived before the node: consume it now
                run["_signals"].remove(kept)
                self._save(run)
                return _Outcome("completed", kept["payload"])
            return _Outcome("waiting")
        if ntype == "subworkflow":
            return await self._run_subworkflow(run_id, index)
        return _Outcome("failed", error=f"node type {ntype!r} is not executable")

    async def _run_subworkflow(self, run_id: str, index: int) -> _Outcome:
        run = self._driven(run_id)
        node = run["_nodes"][index]
        config = node.get("config") or {}
        child_id = node.get("child_run_id")
        if child_id is None:  # not spawned yet (a restart re-enters here with the id set)
            if run.get("_depth", 0) >= MAX_DEPTH:
                return _Outcome("failed", error=f"subworkflows nested deeper than {MAX_DEPTH}")
            try:
                child = self._spawn_child(run, config)
            except ApiError as exc:
                return _Outcome("failed", error=exc.message)
            run = self._driven(run_id)
            run["_nodes"][index]["child_run_id"] = child_id = child["id"]
            self._log(run, "info", node["key"], f"child run {child_id} started")
            self._save(run)
        if config.get("wait") is False:
            return _Outcome("completed", {"run_id": child_id})
        child = await self._wait_terminal(child_id)
        if child["status"] == "completed":
            return _Outcome("completed", {"run_id": child_id, "output": child.get("output")})
        return _Outcome(
            "failed",
            error=f"child run {child_id} {child['status']}"
            + (f": {child.get('error')}" if child.get("error") else ""),
        )

    def _spawn_child(self, run: Dict[str, Any], config: Dict[str, Any]) -> Dict[str, Any]:
        target = config["workflow"]
        org_id = run["organization_id"]
        given = config.get("context")
        context: Dict[str, Any] = given if isinstance(given, dict) else (run.get("input") or {})
        store = self.emulator.store
        definition = store.get(DEFINITIONS, target)
        if definition is None or definition.get("organization_id") != org_id:
            definition = store.find_one(DEFINITIONS, org_id=org_id, where={"name": target})
        if definition is not None:
            child = self.create_definition_run(  # type: ignore[attr-defined]
                definition,
                context=context,
                created_by=run.get("created_by"),
                team_id=run.get("team_id"),
                parent=run,
            )
            return self.start_run(child["id"])  # type: ignore[attr-defined,no-any-return]
        if resolve(store, org_id, target) is None:
            raise ApiError(
                404, "not_found", f"subworkflow {target!r}: no definition or named workflow by that name"
            )
        return self.submit_named(  # type: ignore[attr-defined,no-any-return]
            org_id,
            target,
            dict(context),
            team_id=run.get("team_id"),
            created_by=run.get("created_by"),
            parent=run,
        )

    # ------------------------------------------------------------------ waiting nodes
    def _waiting_node(self, run: Dict[str, Any], key: Optional[str] = None) -> Optional[Dict[str, Any]]:
        waiting = [n for n in run["_nodes"] if n["status"] == "waiting"]
        if key is not None:
            return next((n for n in waiting if n["key"] == key), None)
        return next((n for n in waiting if n["type"] == "approval"), waiting[0] if waiting else None)

    def resume_node(self, run_id: str, key: str, data: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        run = self._require(run_id)
        node = next((n for n in run["_nodes"] if n["key"] == key and not n.get("internal")), None)
        if node is None:
            raise ApiError(404, "not_found", f"run has no node {key!r}")
        if node["status"] != "waiting":
            raise ApiError(409, "conflict", f"node {key!r} is not waiting (it is {node['status']})")
        return self._complete_waiting(run, node, dict(data or {}))

    def approve(
        self,
        run_id: str,
        approved: bool = True,
        reason: Optional[str] = None,
        data: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        run = self._require(run_id)
        node = self._waiting_node(run)
        if node is None:
            raise ApiError(409, "conflict", f"run has no node waiting for approval (run is {run['status']})")
        return self._complete_waiting(
            run, node, {**(data or {}), "approved": bool(approved), "reason": reason}
        )

    def signal(self, run_id: str, name: str, payload: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        run = self._require(run_id)
        if run["status"] in TERMINAL:
            raise ApiError(409, "conflict", f"run is already {run['status']}")
        for node in run["_nodes"]:
            if node["status"] == "waiting" and (node["key"] == name or node["config"].get("signal") == name):
                self._log(run, "info", node["key"], f"signal {name!r} received")
                return self._complete_waiting(run, node, dict(payload or {}))
        # Nobody listens yet: keep it for a wait_for_input node that asks for it later.
        run["_signals"].append(
            {"name": name, "payload": payload or {}, "received_at": self.emulator.clock.now_iso()}
        )
        self._log(run, "info", None, f"signal {name!r} received and kept (no node is waiting for it)")
        self._save(run)
        return run

    def _complete_waiting(
        self, run: Dict[str, Any], node: Dict[str, Any], data: Dict[str, Any]
    ) -> Dict[str, Any]:
        """A waiting node got its answer: complete (or reject) it and let the run continue."""
        now = self.emulator.clock.now_iso()
        if node["type"] == "approval" and data.get("approved") is False:
            why = data.get("reason")
            node.update(
                status="failed", completed_at=now, output=data, error="rejected" + (f": {why}" if why else "")
            )
            self._log(run, "warning", node["key"], node["error"])
            self._emit("workflow.node.failed", run, node_key=node["key"], data={"error": node["error"]})
            self._finish(run, "failed", error=f"node {node['key']}: {node['error']}")
            return self.get(run["id"]) or run
        node.update(status="completed", completed_at=now, output=data)
        self._log(run, "info", node["key"], "node resumed")
        self._emit("workflow.node.completed", run, node_key=node["key"], data={"output": data})
        if run["status"] == "waiting":
            run["status"] = "running"
            self._save(run)
            self._emit(
                "workflow.run.resumed",
                run,
                data={"status": "running", "from": "waiting", "node_key": node["key"]},
            )
            self._spawn(run["id"])
        else:  # e.g. paused while waiting: the answer is kept, the run stays paused
            if run["status"] == "paused":
                run["_paused_from"] = "running"
            self._save(run)
        return self.get(run["id"]) or run

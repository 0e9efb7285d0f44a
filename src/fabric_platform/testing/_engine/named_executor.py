"""Executing named-workflow runs: variants and bundle members in parallel (a mixin of
:class:`~.engine.Engine`).

Each output entry (a variant, or a bundle member) computes its result up front — the built-ins
are pure — then walks its task nodes with simulated time, and records output, artifacts and
usage when its last task completes. Entries that finished before a restart are not redone.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, Optional

from .executor import ARTIFACTS, DONE_NODE, RunExecutor
from .named import StepFailed, format_errors, resolve

_MODALITY = {"video": "video", "image": "image", "carousel": "image", "text": "text"}


class NamedExecutor(RunExecutor):
    """Drives runs of named workflows (``_mode == "named"``): variants and bundles."""

    async def _drive_named(self, run_id: str) -> None:
        started = self._driven(run_id)
        shim = started["_nodes"][0]
        if shim["status"] != "completed":
            self._start_node(started, shim)
            self._complete_node(started, shim, None)
        todo = [i for i, out in enumerate(started["_outputs"]) if out["status"] != "completed"]
        errors = await asyncio.gather(*(self._run_entry(run_id, i) for i in todo))
        run = self.get(run_id)
        if run is None or run["status"] != "running":
            return
        failed = [e for e in errors if e]
        if failed:
            self._finish(run, "failed", error=failed[0])
            return
        collect = run["_nodes"][-1]
        self._start_node(run, collect)
        self._complete_node(run, collect, None)
        outs = run["_outputs"]
        if len(outs) == 1:
            output = outs[0]["output"]
            output = output if isinstance(output, dict) or output is None else {"value": output}
        else:
            output = {
                "outputs": [
                    {
                        "variant_index": e["variant_index"],
                        "workflow_name": e["workflow_name"],
                        "kind": e.get("kind"),
                        "output": o["output"],
                    }
                    for e, o in zip(run["_entries"], outs)
                ]
            }
        self._finish(run, "completed", output=output)

    async def _run_entry(self, run_id: str, i: int) -> Optional[str]:
        """Run one variant / bundle member; returns an error message, or None on success."""
        store, clock = self.emulator.store, self.emulator.clock
        run = self._driven(run_id)
        entry = run["_entries"][i]
        org_id = run["organization_id"]
        keys = [n["key"] for n in run["_nodes"] if n.get("entry") == i]

        def fail(message: str) -> str:
            current = self._driven(run_id)
            node = next(
                (n for n in current["_nodes"] if n["key"] in keys and n["status"] not in DONE_NODE), None
            )
            if node is not None:
                self._fail_node(current, node, message)
            current["_outputs"][i].update(status="failed", error=message)
            self._save(current)
            return (
                message
                if len(current["_entries"]) == 1
                else f"variant {i} ({entry['workflow_name']}): {message}"
            )

        wf = resolve(store, org_id, entry["workflow_name"])
        if wf is None:
            return fail(f"workflow {entry['workflow_name']!r} no longer exists")
        problems = wf.validate(entry["input"])
        if problems:
            return fail("invalid input: " + format_errors(problems))
        try:
            result = wf.run(entry["input"], variant_index=entry["variant_index"], store=store, org_id=org_id)
        except StepFailed as exc:
            return fail(str(exc))
        share = round(result.cost_usd / max(1, len(keys)), 6)
        step_seconds = self.emulator.work_seconds(wf.weight) / max(1, len(keys))
        for n, key in enumerate(keys):
            run = self._driven(run_id)
            node = next(x for x in run["_nodes"] if x["key"] == key)
            if node["status"] in DONE_NODE:
                continue
            if node["status"] != "running":
                self._start_node(run, node)
            await clock.sleep(step_seconds)
            run = self._driven(run_id)
            node = next(x for x in run["_nodes"] if x["key"] == key)
            last = n == len(keys) - 1
            cost = round(result.cost_usd - share * (len(keys) - 1), 6) if last else share
            if last:
                self._record_outputs(run, i, wf, result)
            self._complete_node(run, node, None, cost)
        return None

    def _record_outputs(self, run: Dict[str, Any], i: int, wf: Any, result: Any) -> None:
        """Persist a finished variant's output, artifacts and usage in one transaction."""
        store, now = self.emulator.store, self.emulator.clock.now_iso()
        entry = run["_entries"][i]
        with store.transaction():
            for spec, source in result.artifacts:
                task_id = getattr(spec, "task_id", None) or wf.tasks[-1]
                art_id = str(uuid.uuid4())
                size = getattr(spec, "size_bytes", None)
                # Hash only in-memory files: hashing a streamed one would block the loop.
                sha = spec.sha256 if getattr(spec, "content", None) is not None else None
                metadata: Dict[str, Any] = {"workflow_name": entry["workflow_name"], "size_bytes": size}
                if isinstance(sha, str):
                    metadata["sha256"] = sha
                store.insert(
                    ARTIFACTS,
                    {
                        "id": art_id,
                        "organization_id": run["organization_id"],
                        "run_id": run["id"],
                        "asset_id": getattr(spec, "asset_id", None),
                        "task_id": task_id,
                        "filename": spec.filename,
                        "content_type": spec.content_type,
                        "produced_by": task_id,
                        "consumed_from": None,
                        "metadata": metadata,
                        "artifact_type": getattr(spec, "artifact_type", None) or "source",
                        "variant_index": entry["variant_index"],
                        "created_at": now,
                        # Beyond the contract's RunArtifact, as the SDK's model reads them.
                        "size_bytes": size,
                        "sha256": sha if isinstance(sha, str) else None,
                        "_source": source,
                    },
                )
                self._remember_spec(art_id, spec)  # type: ignore[attr-defined]
            self._record_usage(
                run,
                modality=_MODALITY.get(entry.get("kind") or "", "text"),
                provider="fabric",
                model=entry["workflow_name"],
                units=result.units,
                cost_usd=result.cost_usd,
            )
            run["_outputs"][i].update(status="completed", output=result.output)
            self._save(run)

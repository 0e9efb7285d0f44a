"""What the API shows of runs: public documents, RunOutput, artifacts with signed URLs, costs.

A mixin of :class:`~.engine.Engine`. Private engine state lives in ``_``-prefixed fields of
the stored documents; everything here strips it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .._catalogue import builtins as _catalog
from .._infra.signing import UrlSigner
from .executor import ARTIFACTS, RUNS

if TYPE_CHECKING:
    from .._state import Emulator


def public_run(doc: Dict[str, Any]) -> Dict[str, Any]:
    """A run as the API shows it: private engine state stripped."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def public_nodes(doc: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Node states for RunOutput.nodes (internal shim nodes hidden)."""
    keep = (
        "key",
        "type",
        "status",
        "started_at",
        "completed_at",
        "output",
        "error",
        "cost_usd",
        "variant_index",
    )
    return [{k: n.get(k) for k in keep if k in n} for n in doc.get("_nodes", []) if not n.get("internal")]


class RunViews:
    """Read-side helpers the routes use; nothing here changes a run."""

    emulator: Emulator
    store: Any  # properties of Engine
    clock: Any
    _artifact_specs: Dict[str, Any]
    _signer: Optional[UrlSigner]

    @property
    def signer(self) -> UrlSigner:
        if self._signer is None:
            self._signer = UrlSigner.from_store(self.store)
        return self._signer

    def children(self, run_id: str) -> List[Dict[str, Any]]:
        return self.emulator.store.find(RUNS, where={"parent_run_id": run_id, "_lineage": "subworkflow"})

    def cost_breakdown(self, run: Dict[str, Any]) -> Dict[str, Any]:
        per_node = {
            n["key"]: round(float(n.get("cost_usd") or 0.0), 6)
            for n in run["_nodes"]
            if not n.get("internal")
        }
        return {"run_id": run["id"], "total_usd": round(sum(per_node.values()), 6), "per_node": per_node}

    def run_log(self, run: Dict[str, Any]) -> Dict[str, Any]:
        return {"run_id": run["id"], "entries": list(run.get("_log", []))}

    def artifacts(self, run_id: str) -> List[Dict[str, Any]]:
        return self.emulator.store.find(ARTIFACTS, where={"run_id": run_id})

    def public_artifact(self, doc: Dict[str, Any], base_url: str, expires_in: int) -> Dict[str, Any]:
        out = {k: v for k, v in doc.items() if not k.startswith("_") and k != "organization_id"}
        if doc.get("_source") or doc["id"] in self._artifact_specs:
            out["download_url"], out["download_url_expires_at"] = self.signer.sign(
                base_url, doc["id"], now=self.clock.now(), expires_in=expires_in
            )
        else:  # recorded by a client without bytes the emulator could serve
            out["download_url"] = out["download_url_expires_at"] = None
        return out

    def run_output(self, run: Dict[str, Any], base_url: str, expires_in: int) -> Dict[str, Any]:
        """The RunOutput document: exactly ``variants`` entries, whatever the run's state."""
        arts = [self.public_artifact(a, base_url, expires_in) for a in self.artifacts(run["id"])]
        outputs = []
        if run.get("_mode") == "named":
            for entry, out in zip(run["_entries"], run["_outputs"]):
                i = entry["variant_index"]
                outputs.append(
                    {
                        "variant_index": i,
                        "workflow_name": entry["workflow_name"],
                        "kind": entry.get("kind"),
                        "output": out.get("output"),
                        "artifacts": [a for a in arts if a.get("variant_index") == i],
                    }
                )
        else:
            outputs.append(
                {
                    "variant_index": 0,
                    "workflow_name": run.get("workflow_name"),
                    "kind": None,
                    "output": run.get("output"),
                    "artifacts": arts,
                }
            )
        return {
            "run_id": run["id"],
            "status": run["status"],
            "error": run.get("error"),
            "nodes": public_nodes(run),
            "variants": len(outputs),
            "outputs": outputs,
        }

    def artifact_spec(self, artifact: Dict[str, Any]) -> Optional[Any]:
        """The ArtifactSpec behind a stored artifact; rebuilt from its source after a restart."""
        spec = self._artifact_specs.get(artifact["id"])
        if spec is not None:
            return spec
        source = artifact.get("_source")
        if not source:
            return None
        builtin = _catalog.get_builtin(source["builtin"])
        if builtin is None:
            return None
        result = builtin.run(source["input"], variant_index=source["variant_index"])
        if source["index"] >= len(result.artifacts):
            return None
        spec = result.artifacts[source["index"]]
        self._remember_spec(artifact["id"], spec)
        return spec

    def _remember_spec(self, artifact_id: str, spec: Any) -> None:
        # Bounded: specs are cheap to rebuild, the cache only saves recomputation.
        if len(self._artifact_specs) >= 2048:
            self._artifact_specs.pop(next(iter(self._artifact_specs)))
        self._artifact_specs[artifact_id] = spec

"""Named workflows as the run engine sees them, and turning a submission into a run plan.

A *named workflow* is whatever ``POST /v1/workflows/run?name=…`` may target in an org:

* a **built-in** of ``_catalogue`` (wire contract §3) — typed, deterministic, real artifacts;
* a **composed** registry entry (``POST /v1/workflows/compose``) — runs its steps in order, each
  step a built-in or a custom entry, and outputs ``{"steps": [{workflow, output}, …]}``;
* a **custom** registry entry (``POST /v1/workflow-registry``) — the emulator has no code for
  it, so it echoes its input (like ``some/untyped-workflow``) and validates against the entry's
  ``input_schema`` when one was registered.

``bundle/ad-hoc`` is not resolved here: a bundle is a plan of other workflows (``build_plan``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence

from .._catalogue import builtins as _catalog
from .._infra.http import ApiError

if TYPE_CHECKING:
    from .._infra.store import Store

__all__ = [
    "BUNDLE",
    "REGISTRY",
    "NamedWorkflow",
    "Plan",
    "build_plan",
    "resolve",
    "schema_errors",
]

BUNDLE = "bundle/ad-hoc"
REGISTRY = "workflow_registry"
MAX_VARIANTS = 10
# Keys of a submission's input that steer the engine rather than the workflow.
_CONTROL_KEYS = ("variants", "bundle")

# ``resolver(store, org_id, workflow_name, input) -> input`` is applied to every planned entry's
# input (e.g. persona galleries turn ``persona_gallery_id`` + ``persona_index`` into the chosen
# item); it raises ApiError to refuse the submission. The engine is given its resolvers.
InputResolver = Callable[[Any, str, str, Dict[str, Any]], Dict[str, Any]]


def _resolve_input(
    resolvers: Sequence[InputResolver], store: Any, org_id: str, workflow_name: str, data: Dict[str, Any]
) -> Dict[str, Any]:
    for resolver in resolvers:
        data = resolver(store, org_id, workflow_name, data)
    return data


@dataclass
class StepResult:
    """What one execution of a named workflow produced (the engine persists it)."""

    output: Any
    # (ArtifactSpec, source) pairs; ``source`` lets the download route rebuild the bytes after a
    # restart: {"builtin", "input", "variant_index", "index"}.
    artifacts: List[Any] = field(default_factory=list)
    cost_usd: float = 0.0
    units: float = 0.0


def _weight(estimated_seconds: Any) -> float:
    """0–1: where between the emulator's shortest and longest simulated run this one falls.

    Workflows that are slow for real (video) take longer here too, so progress is observable.
    """
    try:
        est = float(estimated_seconds or 0)
    except (TypeError, ValueError):
        est = 0.0
    return min(1.0, max(0.0, est) / 120.0)


def _task_names(builtin: Any, fallback: str) -> List[str]:
    names: List[str] = []
    try:
        for t in builtin.task_schemas() or []:
            name = t.get("task") if isinstance(t, Mapping) else getattr(t, "task", None)
            if isinstance(name, str) and name:
                names.append(name)
    except Exception:  # an untyped workflow may have nothing to say about its tasks
        names = []
    return names or [fallback]


def schema_errors(schema: Mapping[str, Any], instance: Any) -> List[Dict[str, str]]:
    """``[{path, message}]`` for ``instance`` against a JSON Schema (custom registry entries)."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    errors = []
    for err in sorted(cls(schema).iter_errors(instance), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "required" and isinstance(err.instance, Mapping):
            # Point at the missing property itself, as the built-ins' validation does.
            missing = [p for p in err.validator_value if p not in err.instance]
            if missing:
                path = ".".join([*(str(p) for p in err.absolute_path), str(missing[0])])
        errors.append({"path": path, "message": err.message})
    return errors


@dataclass
class NamedWorkflow:
    name: str
    kind: Optional[str]
    source: str  # "builtin" | "custom" | "composed"
    tasks: List[str]
    weight: float  # see _weight
    builtin: Any = None
    entry: Optional[Dict[str, Any]] = None
    steps: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def typed(self) -> bool:
        if self.source == "builtin":
            return self.builtin.input_schema() is not None
        return self.source == "custom" and bool((self.entry or {}).get("input_schema"))

    def validate(self, data: Mapping[str, Any]) -> List[Dict[str, str]]:
        if self.source == "builtin":
            return list(self.builtin.validate(dict(data)))
        schema = (self.entry or {}).get("input_schema")
        if self.source == "custom" and schema:
            return schema_errors(schema, dict(data))
        return []  # composed / untyped: nothing declared, nothing to check

    def run(self, data: Mapping[str, Any], *, variant_index: int, store: Any, org_id: str) -> StepResult:
        """Compute the output (pure and deterministic); the engine simulates the time it takes."""
        if self.source == "builtin":
            res = self.builtin.run(dict(data), variant_index=variant_index)
            arts = [
                (
                    spec,
                    {"builtin": self.name, "input": dict(data), "variant_index": variant_index, "index": i},
                )
                for i, spec in enumerate(res.artifacts)
            ]
            return StepResult(res.output, arts, float(res.cost_usd or 0), float(res.units or 0))
        if self.source == "custom":
            return StepResult({k: v for k, v in data.items() if k != "regenerate"})
        total = StepResult({"steps": []})
        for step in self.steps:
            wf = resolve(store, org_id, step["workflow"])
            if wf is None or wf.source == "composed":
                raise StepFailed(f"step workflow {step['workflow']!r} no longer exists")
            step_input = {**dict(data), **(step.get("input") or {})}
            errors = wf.validate(step_input)
            if errors:
                raise StepFailed(f"step {step['workflow']}: " + format_errors(errors))
            res = wf.run(step_input, variant_index=variant_index, store=store, org_id=org_id)
            total.output["steps"].append({"workflow": wf.name, "output": res.output})
            total.artifacts.extend(res.artifacts)
            total.cost_usd += res.cost_usd
            total.units += res.units
        return total


class StepFailed(Exception):
    """A named workflow could not produce its output (the run fails with this message)."""


def format_errors(errors: List[Dict[str, str]]) -> str:
    return "; ".join(f"{e.get('path') or '(input)'}: {e.get('message')}" for e in errors[:5])


def builtin_id(name: str) -> str:
    """Built-in registry entries have the same id in every org and across restarts."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fabric-emulator:workflow:{name}"))


def find_entry(store: Store, org_id: str, name: str) -> Optional[Dict[str, Any]]:
    return store.find_one(REGISTRY, org_id=org_id, where={"name": name})


def resolve(store: Any, org_id: str, name: str) -> Optional[NamedWorkflow]:
    """The workflow ``name`` means in ``org_id``, or None."""
    if not isinstance(name, str) or name == BUNDLE:
        return None
    builtin = _catalog.get_builtin(name)
    if builtin is not None:
        return NamedWorkflow(
            name=name,
            kind=builtin.kind,
            source="builtin",
            tasks=_task_names(builtin, name.rsplit("/", 1)[-1]),
            weight=_weight(builtin.estimated_duration_seconds),
            builtin=builtin,
        )
    entry = find_entry(store, org_id, name)
    if entry is None:
        return None
    if entry.get("steps"):
        steps = entry["steps"]
        return NamedWorkflow(
            name=name,
            kind=entry.get("kind"),
            source="composed",
            tasks=[f"{i}:{s['workflow']}" for i, s in enumerate(steps)],
            weight=min(1.0, 0.3 * len(steps)),
            entry=entry,
            steps=steps,
        )
    return NamedWorkflow(
        name=name,
        kind=entry.get("kind"),
        source="custom",
        tasks=[name.rsplit("/", 1)[-1]],
        weight=_weight(entry.get("estimated_duration_seconds")),
        entry=entry,
    )


# --- plans -----------------------------------------------------------------------------------


@dataclass
class Plan:
    """A validated submission: one entry per output (variant or bundle member)."""

    entries: List[Dict[str, Any]]  # {workflow_name, kind, input, variant_index}
    parent_run_id: Optional[str] = None
    parent_variant_index: Optional[int] = None


def _bad(message: str, errors: List[Dict[str, str]]) -> ApiError:
    return ApiError(400, "validation_error", message, {"errors": errors})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _lineage(regenerate: Any) -> Dict[str, Any]:
    if regenerate is None:
        return {}
    if not isinstance(regenerate, dict):
        raise _bad(
            "input.regenerate must be an object", [{"path": "regenerate", "message": "must be an object"}]
        )
    parent = regenerate.get("parent_run_id")
    index = regenerate.get("parent_variant_index")
    if parent is not None:
        try:
            parent = str(uuid.UUID(str(parent)))
        except ValueError:
            raise _bad(
                "input.regenerate.parent_run_id must be a run id",
                [{"path": "regenerate.parent_run_id", "message": f"{parent!r} is not a UUID"}],
            ) from None
    if index is not None and (not _is_int(index) or index < 0):
        raise _bad(
            "input.regenerate.parent_variant_index must be a non-negative integer",
            [
                {
                    "path": "regenerate.parent_variant_index",
                    "message": f"{index!r} is not a non-negative integer",
                }
            ],
        )
    return {"parent_run_id": parent, "parent_variant_index": index}


def build_plan(
    store: Any,
    org_id: str,
    name: str,
    data: Any,
    *,
    validate: bool,
    resolvers: Sequence[InputResolver] = (),
) -> Plan:
    """Check a submission against the server rules of wire contract §2 and plan its outputs.

    Raises ApiError: 400 ``validation_error`` (bad variants/bundle/regenerate, or schema errors
    when ``validate``), 404 when ``name`` is not a workflow of the org.
    """
    if not isinstance(data, dict):
        raise _bad("input must be an object", [{"path": "", "message": "must be an object"}])
    variants = data.get("variants")
    bundle = data.get("bundle")
    if variants is not None and bundle is not None:
        raise _bad(
            "variants and bundle are mutually exclusive: a bundle is N different workflows, variants N copies of one",
            [{"path": "variants", "message": "not allowed together with bundle"}],
        )
    if variants is not None and (not _is_int(variants) or not 1 <= variants <= MAX_VARIANTS):
        raise _bad(
            f"variants must be an integer from 1 to {MAX_VARIANTS}",
            [{"path": "variants", "message": f"{variants!r} is not an integer from 1 to {MAX_VARIANTS}"}],
        )
    lineage = _lineage(data.get("regenerate"))
    entries: List[Dict[str, Any]] = []
    errors: List[Dict[str, str]] = []
    if name == BUNDLE:
        if not isinstance(bundle, list) or not 1 <= len(bundle) <= MAX_VARIANTS:
            raise _bad(
                f"{BUNDLE} needs input.bundle: a list of 1 to {MAX_VARIANTS} {{workflow, input}} entries",
                [{"path": "bundle", "message": f"must be an array of 1 to {MAX_VARIANTS} entries"}],
            )
        for i, item in enumerate(bundle):
            where = f"bundle.{i}"
            if not isinstance(item, dict) or not isinstance(item.get("workflow"), str):
                raise _bad(
                    f"{where} must be {{workflow, input}}",
                    [{"path": where, "message": "must be {workflow, input}"}],
                )
            item_input = item.get("input", {})
            if not isinstance(item_input, dict):
                raise _bad(
                    f"{where}.input must be an object",
                    [{"path": f"{where}.input", "message": "must be an object"}],
                )
            wf = resolve(store, org_id, item["workflow"])
            if wf is None:
                raise _bad(
                    f"bundle entry {i}: workflow {item['workflow']!r} does not exist",
                    [{"path": f"{where}.workflow", "message": f"unknown workflow {item['workflow']!r}"}],
                )
            item_input = _resolve_input(resolvers, store, org_id, wf.name, item_input)
            entries.append(
                {"workflow_name": wf.name, "kind": wf.kind, "input": item_input, "variant_index": i}
            )
            if validate:
                errors.extend(
                    {
                        "path": f"{where}.input" + (f".{e['path']}" if e.get("path") else ""),
                        "message": e["message"],
                    }
                    for e in wf.validate(item_input)
                )
    else:
        if bundle is not None:
            raise _bad(
                f"input.bundle is only accepted with the workflow name {BUNDLE}",
                [{"path": "bundle", "message": f"only allowed when name is {BUNDLE}"}],
            )
        wf = resolve(store, org_id, name)
        if wf is None:
            raise ApiError(404, "not_found", f"no workflow named {name!r}")
        base = _resolve_input(
            resolvers, store, org_id, wf.name, {k: v for k, v in data.items() if k not in _CONTROL_KEYS}
        )
        if validate:
            errors.extend(wf.validate(base))
        entries = [
            {"workflow_name": wf.name, "kind": wf.kind, "input": base, "variant_index": i}
            for i in range(variants or 1)
        ]
    if errors:
        # The code the public clients document for validate=True failures (still a 400).
        raise ApiError(
            400,
            "input_validation_failed",
            f"input does not match the workflow's input schema: {format_errors(errors)}",
            {"errors": errors},
        )
    return Plan(entries, lineage.get("parent_run_id"), lineage.get("parent_variant_index"))

"""The workflow registry of an organization: built-ins, custom entries, composed workflows.

* Built-ins (``_catalogue.builtins``) are in every org's registry, with ids that never change. An upsert
  with a built-in's name stores an org-level *override* of its descriptive fields (version
  goes up); deleting that override restores the defaults. A built-in itself cannot be deleted
  (409) and its schemas and kind are fixed (they come from its types).
* Custom entries (upsert of a new name) may carry ``input_schema`` / ``output_schema``: they
  then count as typed, ``validate=true`` checks against them, and the schemas endpoint
  returns them. Runs of a custom entry echo their input (the emulator has no code for them).
* Composed entries (``POST /v1/workflows/compose``) run their steps in order.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List, Optional

from .._catalogue import builtins as _catalog
from .._infra.http import ApiError
from .named import BUNDLE, REGISTRY, builtin_id, find_entry, resolve

__all__ = ["compose", "delete_entry", "get_entry", "list_entries", "schemas", "upsert_entry"]

KINDS = ("video", "carousel", "image", "text")
# Hierarchical names: segments of letters, digits, "_", "-" and "." joined by single slashes.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)*$")
_PUBLIC = (
    "id",
    "name",
    "description",
    "category",
    "tags",
    "kind",
    "typed",
    "example_input",
    "estimated_duration_seconds",
    "version",
)
_DESCRIPTIVE = ("description", "category", "tags", "example_input", "estimated_duration_seconds")
_MAX_STEPS = 20


def field_error(path: str, message: str) -> ApiError:
    """A 400 naming one field, worded ``"{path}: {message}"`` as the registry endpoints answer."""
    return ApiError(
        400, "validation_error", f"{path}: {message}", {"errors": [{"path": path, "message": message}]}
    )


def _builtin_view(builtin: Any) -> Dict[str, Any]:
    return {
        "id": builtin_id(builtin.name),
        "name": builtin.name,
        "description": builtin.description,
        "category": builtin.category,
        "tags": list(builtin.tags or []),
        "kind": builtin.kind,
        "typed": builtin.input_schema() is not None,
        "example_input": builtin.example_input,
        "estimated_duration_seconds": builtin.estimated_duration_seconds,
        "version": 1,
        "source": "builtin",
    }


def _entry_view(doc: Dict[str, Any]) -> Dict[str, Any]:
    builtin = _catalog.get_builtin(doc["name"])
    if builtin is not None:  # an override: built-in facts, org-level descriptions
        view = _builtin_view(builtin)
        view.update({k: doc[k] for k in _DESCRIPTIVE if k in doc})
        view["version"] = doc["version"]
        return view
    view = {k: doc.get(k) for k in _PUBLIC}
    view["tags"] = list(doc.get("tags") or [])
    view["typed"] = bool(doc.get("input_schema"))
    view["source"] = "composed" if doc.get("steps") else "custom"
    if doc.get("steps"):
        view["steps"] = doc["steps"]
    for key, value in doc.items():  # extra fields the client registered come back as given
        if (
            key not in view
            and not key.startswith("_")
            and key
            not in ("organization_id", "team_id", "input_schema", "output_schema", "created_at", "updated_at")
        ):
            view[key] = value
    return view


def list_entries(store: Any, org_id: str, team_id: Optional[str] = None) -> List[Dict[str, Any]]:
    docs = {
        d["name"]: d
        for d in store.find(REGISTRY, org_id=org_id)
        if team_id is None or d.get("team_id") in (None, team_id)
    }
    out = []
    for name, builtin in _catalog.BUILTINS.items():
        out.append(_entry_view(docs.pop(name)) if name in docs else _builtin_view(builtin))
    out.extend(_entry_view(d) for d in docs.values())
    return out


def get_entry(store: Any, org_id: str, name: str) -> Dict[str, Any]:
    doc = find_entry(store, org_id, name)
    if doc is not None:
        return _entry_view(doc)
    builtin = _catalog.get_builtin(name)
    if builtin is None:
        raise ApiError(404, "not_found", f"no workflow named {name!r} in the registry")
    return _builtin_view(builtin)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise field_error("name", "is required (a workflow name such as research/trends)")
    if len(name) > 200 or not _NAME.match(name):
        raise field_error(
            "name", "must be segments of letters, digits, '_', '-' or '.' separated by single '/'"
        )
    if name == BUNDLE:
        raise field_error("name", f"{BUNDLE} is reserved for bundle submissions")
    return name


def _check_fields(body: Dict[str, Any]) -> Dict[str, Any]:
    fields: Dict[str, Any] = {}
    for key in ("description", "category"):
        if key in body:
            if body[key] is not None and not isinstance(body[key], str):
                raise field_error(key, "must be a string or null")
            fields[key] = body[key]
    if "tags" in body:
        tags = body["tags"]
        if tags is None:
            tags = []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise field_error("tags", "must be an array of strings")
        fields["tags"] = tags
    if "kind" in body:
        if body["kind"] is not None and body["kind"] not in KINDS:
            raise field_error("kind", f"must be one of {', '.join(KINDS)} or null")
        fields["kind"] = body["kind"]
    if "example_input" in body:
        if body["example_input"] is not None and not isinstance(body["example_input"], dict):
            raise field_error("example_input", "must be an object or null")
        fields["example_input"] = body["example_input"]
    if "estimated_duration_seconds" in body:
        value = body["estimated_duration_seconds"]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
        ):
            raise field_error("estimated_duration_seconds", "must be a non-negative number or null")
        fields["estimated_duration_seconds"] = value
    for key in ("input_schema", "output_schema"):
        if key in body:
            schema = body[key]
            if schema is not None:
                if not isinstance(schema, dict):
                    raise field_error(key, "must be a JSON Schema object or null")
                _check_schema(key, schema)
            fields[key] = schema
    return fields


def _check_schema(key: str, schema: Dict[str, Any]) -> None:
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise field_error(key, f"is not a valid JSON Schema: {exc.message}") from None


def _store_entry(
    store: Any,
    clock: Any,
    org_id: str,
    team_id: Optional[str],
    name: str,
    fields: Dict[str, Any],
    *,
    base_version: int = 0,
    fresh_id: Optional[str] = None,
) -> Dict[str, Any]:
    now = clock.now_iso()
    doc = find_entry(store, org_id, name)
    if doc is None:
        doc = {
            "id": fresh_id or str(uuid.uuid4()),
            "organization_id": org_id,
            "team_id": team_id,
            "name": name,
            "description": None,
            "category": None,
            "tags": [],
            "kind": None,
            "example_input": None,
            "estimated_duration_seconds": None,
            "version": base_version,
            "created_at": now,
        }
    doc.update(fields)
    doc["version"] = int(doc.get("version") or 0) + 1
    doc["updated_at"] = now
    store.put(REGISTRY, doc)
    return doc


def upsert_entry(
    store: Any, clock: Any, org_id: str, team_id: Optional[str], body: Dict[str, Any]
) -> Dict[str, Any]:
    name = _check_name(body.get("name"))
    if "steps" in body:
        raise field_error("steps", "composed workflows are created with POST /v1/workflows/compose")
    fields = _check_fields(body)
    extras = {
        k: v
        for k, v in body.items()
        if k not in fields
        and k != "name"
        and not k.startswith("_")
        and k
        not in ("organization_id", "team_id", "id", "version", "typed", "source", "created_at", "updated_at")
    }
    builtin = _catalog.get_builtin(name)
    if builtin is not None:
        if fields.get("kind", builtin.kind) != builtin.kind:
            raise field_error(
                "kind", f"the kind of the built-in {name} is {builtin.kind!r} and cannot change"
            )
        if "input_schema" in fields or "output_schema" in fields:
            raise field_error("input_schema", "the schemas of a built-in workflow are derived from its types")
        fields = {k: v for k, v in fields.items() if k in _DESCRIPTIVE}
        return _entry_view(
            _store_entry(
                store, clock, org_id, team_id, name, fields, base_version=1, fresh_id=builtin_id(name)
            )
        )
    return _entry_view(_store_entry(store, clock, org_id, team_id, name, {**extras, **fields}))


def delete_entry(store: Any, org_id: str, name: str) -> None:
    doc = find_entry(store, org_id, name)
    if doc is not None:
        store.delete(REGISTRY, doc["id"])
        return
    if _catalog.get_builtin(name) is not None:
        raise ApiError(409, "conflict", f"{name} is a built-in workflow and cannot be deleted")
    raise ApiError(404, "not_found", f"no workflow named {name!r} in the registry")


def compose(
    store: Any, clock: Any, org_id: str, team_id: Optional[str], body: Dict[str, Any]
) -> Dict[str, Any]:
    name = _check_name(body.get("name"))
    if _catalog.get_builtin(name) is not None:
        raise field_error("name", f"{name} is a built-in workflow")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise field_error("description", "must be a string or null")
    raw = body.get("steps")
    if not isinstance(raw, list) or not 1 <= len(raw) <= _MAX_STEPS:
        raise field_error("steps", f"must be an array of 1 to {_MAX_STEPS} steps")
    steps: List[Dict[str, Any]] = []
    kinds: List[Any] = []
    seconds = 0.0
    for i, step in enumerate(raw):
        if isinstance(step, str):
            step = {"workflow": step}
        if not isinstance(step, dict) or not isinstance(step.get("workflow"), str):
            raise field_error(f"steps.{i}", "must be a workflow name or {workflow, input}")
        step_input = step.get("input") or {}
        if not isinstance(step_input, dict):
            raise field_error(f"steps.{i}.input", "must be an object")
        wf = resolve(store, org_id, step["workflow"])
        if wf is None or step["workflow"] == name:
            raise field_error(f"steps.{i}.workflow", f"unknown workflow {step['workflow']!r}")
        if wf.source == "composed":
            raise field_error(f"steps.{i}.workflow", "a step cannot itself be a composed workflow")
        steps.append({"workflow": wf.name, "input": step_input})
        kinds.append(wf.kind)
        est = (
            wf.builtin.estimated_duration_seconds
            if wf.builtin is not None
            else (wf.entry or {}).get("estimated_duration_seconds")
        )
        seconds += float(est or 0)
    fields = {
        "description": description or f"Composed of {', '.join(s['workflow'] for s in steps)}",
        "category": "composed",
        "tags": ["composed"],
        "kind": kinds[-1],
        "estimated_duration_seconds": seconds,
        "steps": steps,
        "input_schema": None,
        "output_schema": None,
    }
    return _entry_view(_store_entry(store, clock, org_id, team_id, name, fields))


def schemas(store: Any, org_id: str, name: str) -> Dict[str, Any]:
    doc = _catalog.schemas_document(name)  # built-ins, bundle/ad-hoc included
    if doc is not None:
        return dict(doc)
    wf = resolve(store, org_id, name)
    if wf is None:
        raise ApiError(404, "not_found", f"no workflow named {name!r}")
    entry = wf.entry or {}
    if wf.source == "composed":
        tasks = []
        for task, step in zip(wf.tasks, wf.steps):
            step_wf = resolve(store, org_id, step["workflow"])
            builtin = step_wf.builtin if step_wf is not None else None
            tasks.append(
                {
                    "task": task,
                    "input_schema": builtin.input_schema() if builtin is not None else None,
                    "output_schema": builtin.output_schema() if builtin is not None else None,
                }
            )
        return {
            "workflow_name": name,
            "input_schema": None,
            "output_schema": None,
            "task_schemas": tasks,
            "warnings": ["composed workflow: its input is passed to every step; no combined input schema"],
        }
    warnings = [] if entry.get("input_schema") else ["no input schema registered: input is not validated"]
    if not entry.get("output_schema"):
        warnings.append("no output schema registered")
    return {
        "workflow_name": name,
        "input_schema": entry.get("input_schema"),
        "output_schema": entry.get("output_schema"),
        "task_schemas": [],
        "warnings": warnings,
    }

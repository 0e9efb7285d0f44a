"""What a built-in workflow of the emulator is (wire contract §3), and how one is declared.

A :class:`BuiltinWorkflow` holds a workflow's metadata, its pydantic input/output types
(and per-task types), the JSON Schemas derived from them once, at import, and a runner.
Running one is pure and deterministic: the output, the artifacts' bytes and the cost
depend only on the declared input fields and the variant index (see :class:`Dice`).

Most built-ins share one shape (an input shim, then a chain of typed tasks);
:func:`typed_workflow` writes that shape once, so a workflow states only what differs.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple

import jsonschema
from pydantic import BaseModel, ConfigDict, Field

from .artifacts import ArtifactSpec
from .schema import ModelType, readable_errors, schema_of

__all__ = [
    "CONTROL_KEYS",
    "DIRECTIONS",
    "BuiltinWorkflow",
    "Dice",
    "OpenModel",
    "WorkflowInput",
    "WorkflowInputError",
    "WorkflowResult",
    "inline_artifact",
    "typed_workflow",
]

Kind = Optional[Literal["video", "carousel", "image", "text"]]
# Keys that steer the engine rather than the workflow: never part of what makes output.
CONTROL_KEYS = frozenset({"variants", "bundle", "regenerate"})
DIRECTIONS = ("punchier", "deeper", "contrarian", "visual", "data-first", "surprise")


@dataclass(frozen=True)
class WorkflowResult:
    """What one run of a built-in produced."""

    output: Dict[str, Any]
    artifacts: List[ArtifactSpec]
    cost_usd: float
    units: int


class WorkflowInputError(ValueError):
    """The input does not satisfy the workflow's input schema.

    Attributes:
        errors: ``[{"path", "message"}]``, as :meth:`BuiltinWorkflow.validate` reports them.
    """

    def __init__(self, workflow: str, errors: List[Dict[str, str]]) -> None:
        self.errors = errors
        detail = "; ".join(f"{e['path'] or '(input)'}: {e['message']}" for e in errors[:5])
        super().__init__(f"invalid input for {workflow}: {detail}")


# The file types built-ins produce, by extension: (content type, artifact type).
_FILE_TYPES = {".png": ("image/png", "image"), ".mp4": ("video/mp4", "video")}


def inline_artifact(filename: str, content: bytes, *, task_id: str) -> ArtifactSpec:
    """A small artifact kept in memory, typed by its file extension.

    Args:
        filename: The artifact's name; its extension (``.png``, ``.mp4``) gives its types.
        content: The file's bytes.
        task_id: The task that produced it.

    Returns:
        The artifact spec.
    """
    content_type, artifact_type = _FILE_TYPES[filename[filename.rindex(".") :]]
    return ArtifactSpec(filename, content_type, len(content), artifact_type, task_id, content=content)


# --- the inputs every built-in accepts ---------------------------------------------------
# Inputs allow extra fields: the seed says output-shaped fields replayed from an earlier
# run "survive validation as pass-through extras". A model's docstring becomes its
# schema's description: editing one changes the published contract.


class OpenModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class Regenerate(OpenModel):
    """Marks a run as a variation of an earlier run/variant (lineage + prompt hints)."""

    direction: Optional[str] = Field(
        None,
        description="How to shift the result: " + ", ".join(DIRECTIONS) + ". Workflows opt in to honour it.",
        examples=list(DIRECTIONS),
    )
    keep: Optional[List[str]] = Field(None, description="Input fields the variation must keep.")
    extra_instructions: Optional[str] = None
    parent_run_id: Optional[str] = None
    parent_variant_index: Optional[int] = Field(None, ge=0)


class WorkflowInput(OpenModel):
    """Fields every built-in accepts besides its own."""

    regenerate: Optional[Regenerate] = None
    variants: Optional[int] = Field(None, ge=1, le=10, description="Fan out to N variants (1-10).")


# --- determinism -------------------------------------------------------------------------


class Dice:
    """Deterministic choices from a workflow's input (stable across processes/versions)."""

    def __init__(self, *parts: str) -> None:
        self._base = "\x1f".join(parts)

    def number(self, label: str) -> int:
        digest = hashlib.sha256(f"{self._base}\x1e{label}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    def unit(self, label: str) -> float:
        return self.number(label) / 2.0**64

    def hex(self, label: str, length: int = 24) -> str:
        return hashlib.sha256(f"{self._base}\x1e{label}".encode()).hexdigest()[:length]

    def uuid(self, label: str) -> str:
        raw = hashlib.sha256(f"{self._base}\x1e{label}".encode()).digest()[:16]
        return str(uuid.UUID(bytes=raw, version=4))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# --- the workflow ------------------------------------------------------------------------

Task = Tuple[str, ModelType, ModelType]
Runner = Callable[[Any, Dice, int], WorkflowResult]


class BuiltinWorkflow:
    """One built-in workflow: metadata, types, schemas and a deterministic runner."""

    def __init__(
        self,
        *,
        name: str,
        kind: Kind,
        description: str,
        category: str,
        tags: Sequence[str],
        estimated_duration_seconds: float,
        example_input: Dict[str, Any],
        input_model: ModelType,
        output_model: ModelType,
        tasks: Sequence[Task],
        runner: Runner,
        warnings: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.kind = kind
        self.description = description
        self.category = category
        self._tags = tuple(tags)
        self.estimated_duration_seconds = estimated_duration_seconds
        self._example_input = copy.deepcopy(example_input)
        self.input_model = input_model
        self.output_model = output_model
        self.tasks: List[Task] = list(tasks)
        self._runner = runner
        # Derived once, at import: the engine asks for them on every request.
        self._input_schema = schema_of(input_model)
        self._output_schema = schema_of(output_model)
        self._task_schemas = [
            {"task": task, "input_schema": schema_of(tin), "output_schema": schema_of(tout)}
            for task, tin, tout in self.tasks
            if not task.startswith("_")  # shim tasks are plumbing, not part of the contract
        ]
        self._warnings = list(warnings) + self._coverage_warnings()
        self._validator = (
            None if self._input_schema is None else jsonschema.Draft202012Validator(self._input_schema)
        )

    @property
    def tags(self) -> List[str]:
        return list(self._tags)

    @property
    def example_input(self) -> Dict[str, Any]:
        return copy.deepcopy(self._example_input)

    def __repr__(self) -> str:
        return f"BuiltinWorkflow({self.name!r}, kind={self.kind!r})"

    def _coverage_warnings(self) -> List[str]:
        if self.input_model is None and self.output_model is None:
            return [f"{self.name} declares no pydantic types: its schemas are null and validation is skipped"]
        missing = []
        for entry in self._task_schemas:
            for side in ("input", "output"):
                if entry[f"{side}_schema"] is None:
                    missing.append(f"task {entry['task']!r} has no {side} type")
        return missing

    def input_schema(self) -> Optional[Dict[str, Any]]:
        """The JSON Schema of the workflow input (None when untyped)."""
        return copy.deepcopy(self._input_schema)

    def output_schema(self) -> Optional[Dict[str, Any]]:
        """The JSON Schema of the workflow output (None when untyped)."""
        return copy.deepcopy(self._output_schema)

    def task_schemas(self) -> List[Dict[str, Any]]:
        """``[{task, input_schema, output_schema}]`` per task, shim tasks excluded."""
        return copy.deepcopy(self._task_schemas)

    def warnings(self) -> List[str]:
        """Type-coverage warnings (untyped workflow, tasks without types)."""
        return list(self._warnings)

    def validate(self, input: Any) -> List[Dict[str, str]]:
        """Check ``input`` against the input schema (JSON Schema Draft 2020-12).

        Args:
            input: The submitted input.

        Returns:
            ``[{"path": "topic", "message": "42 is not of type 'string'"}, ...]`` in path
            order; ``path`` joins the location with "." ("" for the root). Always ``[]``
            for an untyped workflow.
        """
        if self._validator is None:
            return []
        return readable_errors(self._validator, input)

    def run(self, input: Dict[str, Any], *, variant_index: int = 0) -> WorkflowResult:
        """Compute the workflow's result; pure and deterministic.

        Args:
            input: The workflow input (``regenerate`` and ``variants`` keys allowed).
            variant_index: Which variant this is; different variants give different texts.

        Returns:
            The output, the artifact specs, the cost in USD and the metered units.

        Raises:
            WorkflowInputError: ``input`` does not satisfy the input schema.
        """
        if not isinstance(input, dict):
            raise WorkflowInputError(self.name, [{"path": "", "message": "the input must be an object"}])
        errors = self.validate(input)
        if errors:
            raise WorkflowInputError(self.name, errors)
        if self.input_model is None:
            return self._runner(input, Dice(self.name, _canonical(input)), variant_index)
        model = self.input_model.model_validate(input)
        # Only declared fields make the output: pass-through extras and lineage do not.
        declared = set(type(model).model_fields) - CONTROL_KEYS
        basis = model.model_dump(mode="json", include=declared)
        return self._runner(model, Dice(self.name, _canonical(basis)), variant_index)


def typed_workflow(
    name: str,
    *,
    chain: Sequence[Any],
    kind: Kind,
    tags: Sequence[str],
    estimated_duration_seconds: float,
    example_input: Dict[str, Any],
) -> Callable[[Runner], BuiltinWorkflow]:
    """Declare a typed built-in of the usual shape; decorates its runner.

    The workflow's tasks are an ``_prepare_input`` shim, then the typed tasks of ``chain``.
    Its category is the part of ``name`` before the slash, and its description is the
    runner's docstring (what the catalogue publishes is what the code says it does).

    Args:
        name: ``category/workflow``.
        chain: ``(Input, "task_1", Middle, "task_2", Output)``: each task turns the type
            before it into the type after it; the first type is the workflow's input type
            and the last its output type.
        kind: What the workflow produces (``text``, ``image``, ``carousel``, ``video``).
        tags: Catalogue tags.
        estimated_duration_seconds: How long a run takes at speed 1.
        example_input: A valid input, published in the catalogue.

    Returns:
        A decorator that turns ``runner(model, dice, variant_index)`` into the workflow.

    Raises:
        ValueError: ``chain`` does not alternate types and task names, or the runner has
            no docstring.
    """
    types, steps = list(chain[0::2]), list(chain[1::2])
    if len(types) != len(steps) + 1 or not steps or not all(isinstance(s, str) for s in steps):
        raise ValueError(f"{name}: chain must be (Type, 'task', Type, ..., 'task', Type)")

    def declare(runner: Runner) -> BuiltinWorkflow:
        description = inspect.getdoc(runner)
        if not description:
            raise ValueError(f"{name}: the runner's docstring is the workflow's description")
        return BuiltinWorkflow(
            name=name,
            kind=kind,
            description=description,
            category=name.split("/", 1)[0],
            tags=tags,
            estimated_duration_seconds=estimated_duration_seconds,
            example_input=example_input,
            input_model=types[0],
            output_model=types[-1],
            tasks=[("_prepare_input", None, None), *zip(steps, types[:-1], types[1:])],
            runner=runner,
        )

    return declare

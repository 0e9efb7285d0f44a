"""The built-in workflows the local Fabric emulator ships (wire contract §3): the registry.

This module is the catalogue's public face: :data:`BUILTINS`, :func:`get_builtin` and
:func:`schemas_document`. The workflows live by family (``text``,
``image``, ``video``); what a built-in is, and how one is declared and
run, in ``workflow``. Running one is pure and deterministic: no HTTP, no
database, and no URL in an input is ever fetched.

The run engine owns everything else: timing, events, persistence, variants and
bundles (``bundle/ad-hoc`` has an entry here so that its schemas exist).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

from pydantic import Field

from . import image as _catalog_image
from . import text as _catalog_text
from . import video as _catalog_video
from .artifacts import ArtifactSpec, big_artifact, make_png
from .workflow import (
    CONTROL_KEYS,
    DIRECTIONS,
    BuiltinWorkflow,
    Dice,
    OpenModel,
    WorkflowInputError,
    WorkflowResult,
)

__all__ = [
    "BUILTINS",
    "DIRECTIONS",
    "ArtifactSpec",
    "BuiltinWorkflow",
    "WorkflowInputError",
    "WorkflowResult",
    "big_artifact",
    "get_builtin",
    "make_png",
    "schemas_document",
]

BUNDLE = "bundle/ad-hoc"

# --- the two built-ins of their own shape: a bundle, and an untyped example ----------------


class BundleEntry(OpenModel):
    workflow: str = Field(..., min_length=1)
    input: Dict[str, Any] = Field(default_factory=dict)


class BundleInput(OpenModel):
    bundle: List[BundleEntry] = Field(..., min_length=1, max_length=10)


def _bundle(m: BundleInput, dice: Dice, v: int) -> WorkflowResult:
    # The engine runs bundles itself (one output entry per member); this is the same
    # computation, pure, for callers that want it without an engine.
    outputs: List[Dict[str, Any]] = []
    artifacts: List[ArtifactSpec] = []
    cost, units = 0.0, 0
    for i, entry in enumerate(m.bundle):
        member = BUILTINS.get(entry.workflow)
        if member is None or member.name == BUNDLE:
            raise WorkflowInputError(
                BUNDLE, [{"path": f"bundle.{i}.workflow", "message": f"unknown workflow {entry.workflow!r}"}]
            )
        result = member.run(entry.input, variant_index=i)
        outputs.append({"workflow_name": member.name, "kind": member.kind, "output": result.output})
        artifacts.extend(result.artifacts)
        cost += result.cost_usd
        units += result.units
    return WorkflowResult(
        output={"outputs": outputs}, artifacts=artifacts, cost_usd=round(cost, 6), units=units
    )


def _untyped(data: Dict[str, Any], dice: Dice, v: int) -> WorkflowResult:
    echo = {k: copy.deepcopy(val) for k, val in data.items() if k not in CONTROL_KEYS}
    return WorkflowResult(output=echo, artifacts=[], cost_usd=0.0, units=0)


_BUNDLE_WORKFLOW = BuiltinWorkflow(
    name=BUNDLE,
    kind=None,
    description="Run N different workflows in parallel from one submission.",
    category="bundle",
    tags=["bundle"],
    estimated_duration_seconds=60,
    example_input={"bundle": [{"workflow": "research/trends", "input": {"topic": "AI agents"}}]},
    input_model=BundleInput,
    output_model=None,
    tasks=[("_expand_bundle", None, None), ("fan_out", BundleInput, None)],
    runner=_bundle,
    warnings=["bundle/ad-hoc has no single output type: each entry has its own workflow's output"],
)
_UNTYPED_WORKFLOW = BuiltinWorkflow(
    name="some/untyped-workflow",
    kind=None,
    description="An untyped workflow: accepts anything and echoes it back.",
    category="examples",
    tags=["example", "untyped"],
    estimated_duration_seconds=5,
    example_input={"anything": "goes"},
    input_model=None,
    output_model=None,
    tasks=[("echo", None, None)],
    runner=_untyped,
)

# --- the catalogue -------------------------------------------------------------------------

BUILTINS: Dict[str, BuiltinWorkflow] = {
    wf.name: wf
    for wf in [
        *_catalog_text.WORKFLOWS,
        *_catalog_image.WORKFLOWS,
        *_catalog_video.WORKFLOWS,
        _BUNDLE_WORKFLOW,
        _UNTYPED_WORKFLOW,
    ]
}


def get_builtin(name: str) -> Optional[BuiltinWorkflow]:
    """The built-in workflow called ``name`` (or a spelling the public clients use), or None."""
    return BUILTINS.get(name) or BUILTINS.get(ALIASES.get(name, ""))


# Names the public 0.8 clients submit for our built-ins.
ALIASES = {"video/ai-shorts": "video/ai_shorts"}


def schemas_document(name: str) -> Optional[Dict[str, Any]]:
    """The ``GET /v1/workflow-schemas/{name}`` payload of a built-in, or None if unknown.

    Args:
        name: A workflow name such as ``research/trends``.

    Returns:
        ``{workflow_name, input_schema, output_schema, task_schemas, warnings}``; all
        schemas are None for an untyped workflow.
    """
    wf = BUILTINS.get(name)
    if wf is None:
        return None
    return {
        "workflow_name": wf.name,
        "input_schema": wf.input_schema(),
        "output_schema": wf.output_schema(),
        "task_schemas": wf.task_schemas(),
        "warnings": wf.warnings(),
    }

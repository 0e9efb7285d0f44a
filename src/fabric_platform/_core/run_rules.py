"""Pure rules for submitting runs, shared by the sync and async clients.

Everything here is checked before any request is sent, so a mistake costs no round trip
and creates nothing on the server (the server enforces the same rules with a 400).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple

if TYPE_CHECKING:
    from fabric_platform.models import RunOutput

__all__ = [
    "BUNDLE_WORKFLOW",
    "OUTPUT_SHAPED_FIELDS",
    "TERMINAL_RUN_STATUSES",
    "is_terminal",
    "prepare_submission",
    "regenerate_input",
    "run_output",
]

BUNDLE_WORKFLOW = "bundle/ad-hoc"
TERMINAL_RUN_STATUSES = frozenset({"completed", "failed", "cancelled"})
MAX_VARIANTS = 10
_REGENERATE_KEYS = {"direction", "keep", "extra_instructions", "parent_run_id", "parent_variant_index"}
# Fields that workflows produce rather than read; the seed advises stripping them from a replay.
OUTPUT_SHAPED_FIELDS = (
    "thumbnail_paths",
    "thumbnail_asset_ids",
    "selected_thumbnail",
    "overlay_text",
    "thumbnail_size",
    "platform_exports",
    "evaluation",
    "video_asset_id",
)


def is_terminal(run: Mapping[str, Any]) -> bool:
    return run.get("status") in TERMINAL_RUN_STATUSES


def _check_variants(variants: Any) -> int:
    # bool is an int subclass; `variants=True` is a bug, not "1 variant".
    if isinstance(variants, bool) or not isinstance(variants, int):
        raise TypeError(f"variants must be an int from 1 to {MAX_VARIANTS}, got {type(variants).__name__}")
    if not 1 <= variants <= MAX_VARIANTS:
        raise ValueError(f"variants must be from 1 to {MAX_VARIANTS}, got {variants}")
    return variants


def _check_bundle(bundle: Any) -> List[Dict[str, Any]]:
    if not isinstance(bundle, (list, tuple)) or not bundle:
        raise ValueError('bundle must be a non-empty list of {"workflow": str, "input": dict} entries')
    entries = []
    for i, entry in enumerate(bundle):
        if not isinstance(entry, Mapping):
            raise ValueError(
                f"bundle[{i}] must be a dict with 'workflow' and 'input', got {type(entry).__name__}"
            )
        workflow, entry_input = entry.get("workflow"), entry.get("input", {})
        if not isinstance(workflow, str) or not workflow:
            raise ValueError(f"bundle[{i}]['workflow'] must be a workflow name such as 'video/ai_shorts'")
        if not isinstance(entry_input, Mapping):
            raise ValueError(f"bundle[{i}]['input'] must be a dict, got {type(entry_input).__name__}")
        unknown = set(entry) - {"workflow", "input"}
        if unknown:
            raise ValueError(
                f"bundle[{i}] has unknown keys {sorted(unknown)}; use only 'workflow' and 'input'"
            )
        entries.append({"workflow": workflow, "input": dict(entry_input)})
    return entries


def _check_regenerate(regenerate: Any) -> Dict[str, Any]:
    if not isinstance(regenerate, Mapping):
        raise ValueError(f"regenerate must be a dict, got {type(regenerate).__name__}")
    unknown = set(regenerate) - _REGENERATE_KEYS
    if unknown:
        raise ValueError(
            f"regenerate has unknown keys {sorted(unknown)}; allowed: {sorted(_REGENERATE_KEYS)}"
        )
    keep = regenerate.get("keep")
    if keep is not None and (
        not isinstance(keep, (list, tuple)) or not all(isinstance(k, str) for k in keep)
    ):
        raise ValueError("regenerate['keep'] must be a list of input field names")
    index = regenerate.get("parent_variant_index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise ValueError("regenerate['parent_variant_index'] must be an int >= 0")
    for key in ("direction", "extra_instructions", "parent_run_id"):
        value = regenerate.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"regenerate[{key!r}] must be a string")
    return dict(regenerate)


def prepare_submission(
    workflow_name: Optional[str],
    input: Optional[Mapping[str, Any]],
    *,
    variants: Optional[int] = None,
    bundle: Optional[Iterable[Mapping[str, Any]]] = None,
    regenerate: Optional[Mapping[str, Any]] = None,
) -> Tuple[str, Dict[str, Any]]:
    """Apply the SDK-only submit arguments to the wire input (wire-contract: Named runs).

    Returns:
        The workflow name to send (``bundle/ad-hoc`` for bundles) and the input dict with
        ``variants`` / ``bundle`` / ``regenerate`` lifted into it.

    Raises:
        ValueError: ``bundle`` with ``variants``, an out-of-range ``variants``, a malformed
            bundle entry or regenerate directive.
        TypeError: ``variants`` is not an int.
    """
    if bundle is not None and variants is not None:
        raise ValueError(
            "bundle and variants are mutually exclusive: bundle runs N different workflows, "
            "variants runs N copies of one"
        )
    if input is not None and not isinstance(input, Mapping):
        raise ValueError(f"input must be a dict, got {type(input).__name__}")
    wire_input: Dict[str, Any] = dict(input or {})
    name = workflow_name
    if variants is not None:
        wire_input["variants"] = _check_variants(variants)
    if bundle is not None:
        if name not in (None, BUNDLE_WORKFLOW):
            raise ValueError(
                f"a bundle is submitted as {BUNDLE_WORKFLOW!r}; got workflow name {name!r} "
                "(name each workflow inside the bundle entries instead)"
            )
        wire_input["bundle"] = _check_bundle(bundle)
        name = BUNDLE_WORKFLOW
    if regenerate is not None:
        wire_input["regenerate"] = _check_regenerate(regenerate)
    if not name:
        raise ValueError("a workflow name is required (e.g. 'research/trends')")
    return name, wire_input


def regenerate_input(
    parent_input: Mapping[str, Any], input_schema: Optional[Mapping[str, Any]]
) -> Dict[str, Any]:
    """The parent's input without output-shaped fields, ready to replay.

    Typed workflows keep only the fields their ``input_schema`` declares; untyped ones drop
    the seed's list of output-shaped fields. SDK-only keys (variants, bundle, regenerate)
    never carry over.
    """
    skip = {"variants", "bundle", "regenerate"}
    declared = (input_schema or {}).get("properties")
    if isinstance(declared, Mapping):
        return {k: v for k, v in parent_input.items() if k in declared and k not in skip}
    return {k: v for k, v in parent_input.items() if k not in OUTPUT_SHAPED_FIELDS and k not in skip}


def run_output(data: Mapping[str, Any]) -> RunOutput:
    """Parse the output endpoint's data into the typed RunOutput."""
    from fabric_platform.models import RunOutput  # pydantic loads with the first run output, not the client

    return RunOutput.model_validate(data)

"""``fabric runs ...`` and ``fabric workflows ...``.

``runs watch`` (and ``submit --wait``) draws a bar per variant from the run's event stream
through ``wait_for_run(on_progress=...)``. It exits 0 when the run completes, 1 when it
fails or is cancelled, and 130 on Ctrl-C, which only stops watching: the run goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import click

from fabric_platform.cli._context import State, pass_state
from fabric_platform.cli._errors import EXIT_API, EXIT_INTERRUPTED, EXIT_OK
from fabric_platform.cli._inputs import key_values, read_json_source

__all__ = ["runs", "workflows"]

_RUN_COLUMNS = ["id", "workflow_name", "status", "variants", "created_at", "completed_at"]


@click.group()
def runs() -> None:
    """Submit, watch, inspect, cancel and download workflow runs."""


def _regenerate_from(value: Optional[str], direction: Optional[str]) -> Optional[Dict[str, Any]]:
    if value is None:
        if direction is not None:
            raise click.BadParameter("needs --regenerate-from RUN[:VARIANT]", param_hint="'--direction'")
        return None
    run_id, _, variant = value.partition(":")
    if not run_id:
        raise click.BadParameter(f"expected RUN[:VARIANT], got {value!r}", param_hint="'--regenerate-from'")
    directive: Dict[str, Any] = {"parent_run_id": run_id, "parent_variant_index": 0}
    if variant:
        if not variant.isdigit():
            raise click.BadParameter(
                f"VARIANT must be a number, got {variant!r}", param_hint="'--regenerate-from'"
            )
        directive["parent_variant_index"] = int(variant)
    if direction is not None:
        directive["direction"] = direction
    return directive


def _check_workflow(state: State, name: str) -> None:
    """An unknown workflow is a usage error, found with a read before anything is submitted."""
    from fabric_platform.errors import FabricNotFoundError

    try:
        state.client().get_workflow_registry_entry(name)
    except FabricNotFoundError:
        raise click.BadParameter(
            f"unknown workflow {name!r} (see `fabric workflows list`)", param_hint="'WORKFLOW'"
        ) from None


@runs.command()
@click.argument("workflow", required=False)
@click.option(
    "-i", "--input", "pairs", multiple=True, metavar="KEY=VALUE", help="An input field (JSON values parsed)."
)
@click.option("--input-file", metavar="FILE|-", help="The input as a JSON object (- reads stdin).")
@click.option("--variants", type=click.IntRange(1, 10), help="Run N copies in parallel (1-10).")
@click.option("--bundle", metavar="FILE|-", help='A JSON list [{"workflow": ..., "input": {...}}, ...].')
@click.option(
    "--regenerate-from", metavar="RUN[:VARIANT]", help="Submit as a variation of this run's variant."
)
@click.option("--direction", metavar="D", help="Regeneration direction (punchier, deeper, contrarian, ...).")
@click.option("--validate", is_flag=True, help="Have the server validate the input against the schema.")
@click.option("--wait", is_flag=True, help="Watch the run until it ends (exit 1 if it fails).")
@click.option(
    "--download", "download_dir", metavar="DIR", help="Wait, then download every artifact into DIR."
)
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Seconds to wait with --wait.")
@pass_state
def submit(
    state: State,
    workflow: Optional[str],
    pairs: Tuple[str, ...],
    input_file: Optional[str],
    variants: Optional[int],
    bundle: Optional[str],
    regenerate_from: Optional[str],
    direction: Optional[str],
    validate: bool,
    wait: bool,
    download_dir: Optional[str],
    timeout: float,
) -> int:
    """Submit a run of WORKFLOW (a registry name such as research/trends)."""
    payload: Dict[str, Any] = {}
    if input_file is not None:
        loaded = read_json_source(input_file, hint="'--input-file'")
        if not isinstance(loaded, dict):
            raise click.BadParameter("must hold a JSON object", param_hint="'--input-file'")
        payload.update(loaded)
    payload.update(key_values(pairs, hint="'-i' / '--input'"))
    bundle_items = None
    if bundle is not None:
        bundle_items = read_json_source(bundle, hint="'--bundle'")
        if not isinstance(bundle_items, list):
            raise click.BadParameter("must hold a JSON list of {workflow, input}", param_hint="'--bundle'")
        if variants is not None:
            raise click.BadParameter("cannot be used with --variants", param_hint="'--bundle'")
        if workflow is not None:
            raise click.BadParameter("give either WORKFLOW or --bundle", param_hint="'WORKFLOW'")
    elif workflow is None:
        raise click.BadParameter("missing (or use --bundle FILE)", param_hint="'WORKFLOW'")
    regenerate = _regenerate_from(regenerate_from, direction)
    if workflow is not None:
        _check_workflow(state, workflow)
    client = state.client()
    run = client.submit_run(
        workflow,  # None with a bundle
        payload or None,
        variants=variants,
        bundle=bundle_items,
        regenerate=regenerate,
        validate=validate,
    )
    if not (wait or download_dir):
        state.output.emit(run, columns=_RUN_COLUMNS)
        return EXIT_OK
    state.output.note(f"Submitted run {run['id']} ({run.get('workflow_name') or 'bundle'})")
    code, final = _watch(state, dict(run), timeout)
    if code == EXIT_OK and download_dir is not None:
        files = _download(state, run["id"], download_dir)
        if state.json:
            state.output.emit({"run": final, "files": [str(p) for p in files]})
            return code
    if state.json:
        state.output.emit(final)
    return code


def _watch(state: State, run: Dict[str, Any], timeout: float) -> Tuple[int, Dict[str, Any]]:
    from fabric_platform.cli._bars import RunBars

    client = state.client()
    with RunBars(run, json_mode=state.json) as bars:
        try:
            final: Dict[str, Any] = dict(
                client.wait_for_run(run["id"], timeout=timeout, on_progress=bars.update)
            )
        except KeyboardInterrupt:
            state.output.note(f"Stopped watching; run {run['id']} goes on (`fabric runs cancel` stops it).")
            raise SystemExit(EXIT_INTERRUPTED) from None
        bars.finish(final)
    status = final.get("status")
    message = f"Run {final['id']} {status}"
    if final.get("error"):
        message += f": {final['error']}"
    state.output.note(message)
    return (EXIT_OK if status == "completed" else EXIT_API), final


@runs.command()
@click.argument("run_id")
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Seconds to wait.")
@pass_state
def watch(state: State, run_id: str, timeout: float) -> int:
    """Show live progress until RUN_ID ends (0 completed, 1 failed/cancelled, 130 Ctrl-C)."""
    run = state.client().get_run(run_id)
    code, final = _watch(state, dict(run), timeout)
    if state.json:
        state.output.emit(final)
    return code


@runs.command()
@click.argument("run_id")
@pass_state
def get(state: State, run_id: str) -> None:
    """Show one run."""
    state.output.emit(state.client().get_run(run_id))


@runs.command("list")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@pass_state
def list_(state: State, limit: int, offset: int) -> None:
    """List the organization's runs, newest first."""
    state.output.emit(state.client().list_runs(limit=limit, offset=offset), columns=_RUN_COLUMNS)


@runs.command()
@click.argument("run_id")
@click.option("--reason", help="Why (kept on the run).")
@pass_state
def cancel(state: State, run_id: str, reason: Optional[str]) -> None:
    """Cancel a run."""
    run = state.client().cancel_run(run_id, reason)
    if state.json:
        state.output.emit(run)
    else:
        state.output.success(f"Run {run['id']} {run.get('status')}")


@runs.command()
@click.argument("run_id")
@pass_state
def log(state: State, run_id: str) -> None:
    """Print a run's log."""
    data = state.client().run_log(run_id)
    if state.json:
        state.output.emit(data)
        return
    for entry in data.get("entries") or []:
        where = f" [{entry['node_key']}]" if entry.get("node_key") else ""
        click.echo(f"{entry.get('timestamp')} {entry.get('level', ''):5}{where} {entry.get('message')}")


@runs.command()
@click.argument("run_id")
@pass_state
def output(state: State, run_id: str) -> None:
    """Show a run's output: one entry per variant, with its artifacts."""
    result = state.client().get_run_output(run_id)
    if state.json:
        state.output.emit(result.model_dump(mode="json"))
        return
    rows: List[Dict[str, Any]] = []
    for variant in result.outputs:
        rows.append(
            {
                "variant": variant.variant_index,
                "workflow": variant.workflow_name,
                "kind": variant.kind,
                "artifacts": ", ".join(a.filename or "" for a in variant.artifacts),
                "output": variant.output,
            }
        )
    state.output.emit(rows, columns=["variant", "workflow", "kind", "artifacts", "output"])


def _download(state: State, run_id: str, dest: str) -> List[Path]:
    from fabric_platform.cli._bars import DownloadBars

    with DownloadBars(json_mode=state.json) as bars:
        files = state.client().download_all_artifacts(run_id, dest, on_progress=bars.update)
    for path in files:
        state.output.note(f"saved {path}")
    return files


@runs.command()
@click.argument("run_id")
@click.option("--dir", "dest", default=".", show_default=True, metavar="DIR", help="Folder to save into.")
@pass_state
def download(state: State, run_id: str, dest: str) -> None:
    """Download every artifact of a run (verified, written atomically, safe names)."""
    files = _download(state, run_id, dest)
    if state.json:
        state.output.emit([str(p) for p in files])


@click.group()
def workflows() -> None:
    """List workflows and show their schemas."""


@workflows.command("list")
@pass_state
def list_workflows(state: State) -> None:
    """List the workflows the organization can run."""
    entries = state.client().list_workflow_registry()
    state.output.emit(entries, columns=["name", "kind", "typed", "source", "description"])


@workflows.command()
@click.argument("name")
@pass_state
def schema(state: State, name: str) -> None:
    """Show workflow NAME's input and output JSON Schemas."""
    from fabric_platform.cli._output import to_json

    schemas = state.client().get_workflow_schemas(name)
    if state.json:
        state.output.emit(schemas)
        return
    click.echo(f"input_schema:\n{to_json(schemas.get('input_schema'))}")
    click.echo(f"output_schema:\n{to_json(schemas.get('output_schema'))}")

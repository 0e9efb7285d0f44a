"""``fabric events tail [--run ID | --job ID]``: follow an event stream.

The SDK's stream reconnects by itself after a dropped connection (resuming with
``Last-Event-ID``), so a flaky network shows as a pause, not an exit. ``--json`` prints
one JSON object per line (NDJSON).
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterator, Mapping, Optional, Tuple

import click

from fabric_platform.cli._context import State, pass_state
from fabric_platform.cli._errors import EXIT_INTERRUPTED

__all__ = ["events", "matches", "open_stream"]


def open_stream(state: State, run: Optional[str], job: Optional[str]) -> Any:
    client = state.client()
    if run and job:
        raise click.BadParameter("give --run or --job, not both", param_hint="'--run' / '--job'")
    if run:
        return client.stream_run_events(run)
    if job:
        return client.stream_job_events(job)
    return client.stream_events()


def matches(kind: str, patterns: Tuple[str, ...]) -> bool:
    """Whether an event kind matches any of the glob patterns (none: every kind)."""
    return not patterns or any(fnmatch.fnmatchcase(kind, p) for p in patterns)


def _patterns(values: Tuple[str, ...]) -> Tuple[str, ...]:
    return tuple(p.strip() for value in values for p in value.split(",") if p.strip())


def _line(event: Mapping[str, Any]) -> str:
    from fabric_platform.cli._output import to_json

    scope = event.get("run_id") or event.get("job_id") or ""
    node = f" {event['node_key']}" if event.get("node_key") else ""
    data = to_json(event.get("data") or {}, indent=None)
    return f"{event.get('timestamp', '')} {event.get('kind', '')} {scope}{node} {data}".rstrip()


def iterate(stream: Any) -> Iterator[Mapping[str, Any]]:
    try:
        yield from stream
    finally:
        stream.close()


@click.group()
def events() -> None:
    """Follow the event stream."""


@events.command()
@click.option("--run", metavar="ID", help="Only this run's events (ends with the run).")
@click.option("--job", metavar="ID", help="Only this job's events (ends with the job).")
@click.option(
    "--events", "kinds", multiple=True, metavar="PATTERN", help="Only kinds matching (e.g. 'workflow.run.*')."
)
@click.option("--limit", type=click.IntRange(1), help="Stop after N events.")
@pass_state
def tail(
    state: State, run: Optional[str], job: Optional[str], kinds: Tuple[str, ...], limit: Optional[int]
) -> int:
    """Print events as they happen, until the stream ends or Ctrl-C."""
    patterns = _patterns(kinds)
    stream = open_stream(state, run, job)
    shown = 0
    try:
        for event in iterate(stream):
            if not matches(str(event.get("kind", "")), patterns):
                continue
            if state.json:
                state.output.ndjson(dict(event))
            else:
                click.echo(_line(event))
            shown += 1
            if limit is not None and shown >= limit:
                break
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0

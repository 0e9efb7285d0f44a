"""Printing results: a table and colour on a terminal, plain text when piped, JSON on request.

* ``--json``: exactly one JSON document on stdout (streams: one JSON object per line);
* stdout a terminal: Rich tables, colour unless ``NO_COLOR`` is set;
* otherwise: plain text, one record per line (tab-separated columns with a header), so
  ``cut``/``awk`` work.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, List, Mapping, Optional, Sequence

import click

__all__ = ["Output", "to_json"]


def to_json(value: Any, *, indent: Optional[int] = 2) -> str:
    """``value`` as JSON (pydantic models and other objects through their dict/str form)."""

    def fallback(obj: Any) -> Any:
        dump = getattr(obj, "model_dump", None)
        if callable(dump):
            return dump(mode="json")
        if isinstance(obj, Mapping):
            return dict(obj)
        return str(obj)

    return json.dumps(value, indent=indent, default=fallback, ensure_ascii=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return to_json(value, indent=None)
    return str(value)


class Output:
    """The printer of one invocation."""

    def __init__(self, *, json_mode: bool, environ: Mapping[str, str]) -> None:
        self.json = json_mode
        self.tty = sys.stdout.isatty()
        self.color = self.tty and not environ.get("NO_COLOR")
        self._console: Any = None

    @property
    def console(self) -> Any:
        """A Rich console on stdout (terminals only; imported on first use)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(no_color=not self.color, highlight=False)
        return self._console

    # -- documents -------------------------------------------------------------------------
    def emit(
        self, data: Any, *, columns: Optional[Sequence[str]] = None, title: Optional[str] = None
    ) -> None:
        """Print a result: a record (mapping), a list of records, or a scalar."""
        if self.json:
            click.echo(to_json(data))
            return
        if isinstance(data, list) and (not data or isinstance(data[0], Mapping)):
            self.table(data, columns=columns, title=title)
        elif isinstance(data, Mapping):
            self.record(data, title=title)
        elif hasattr(data, "model_dump"):
            self.record(data.model_dump(mode="json"), title=title)
        else:
            click.echo(_cell(data))

    def table(
        self,
        rows: Sequence[Mapping[str, Any]],
        *,
        columns: Optional[Sequence[str]] = None,
        title: Optional[str] = None,
    ) -> None:
        cols: List[str] = list(columns or (list(rows[0].keys()) if rows else []))
        if self.tty:
            from rich.table import Table

            table = Table(title=title, header_style="bold" if self.color else None)
            for col in cols:
                table.add_column(col)
            for row in rows:
                table.add_row(*(_cell(row.get(c)) for c in cols))
            self.console.print(table)
            return
        if cols:
            click.echo("\t".join(cols))
        for row in rows:
            click.echo("\t".join(_cell(row.get(c)).replace("\t", " ").replace("\n", " ") for c in cols))

    def record(self, data: Mapping[str, Any], *, title: Optional[str] = None) -> None:
        if self.tty:
            from rich.table import Table

            table = Table(title=title, show_header=False, box=None)
            table.add_column(style="bold" if self.color else None)
            table.add_column()
            for key, value in data.items():
                table.add_row(str(key), _cell(value))
            self.console.print(table)
            return
        for key, value in data.items():
            click.echo(f"{key}: {_cell(value)}")

    # -- streams and messages --------------------------------------------------------------
    def ndjson(self, value: Any) -> None:
        """One line of a stream (``--json``: a JSON object; else a readable line)."""
        click.echo(to_json(value, indent=None))

    def lines(self, values: Iterable[str]) -> None:
        for value in values:
            click.echo(value)

    def note(self, message: str) -> None:
        """A message for people (stderr, so stdout stays parseable)."""
        click.echo(message, err=True)

    def success(self, message: str) -> None:
        """A confirmation: on stdout without --json, on stderr with it."""
        click.echo(message, err=self.json)

"""``fabric api OPERATION [--param value]...``: every spec operation, by name.

OPERATION is a flat method name (``get_run``), a namespaced one (``workflows.runs.get``)
or an operationId (``getRun``). The options come from the SDK method's signature: one
``--kebab-case`` option per argument; dict and list arguments take JSON (``-`` reads it
from stdin, ``@FILE`` from a file). Streams print NDJSON; byte bodies go to stdout as is.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, Dict, List, Optional, Tuple

import click

from fabric_platform.cli._context import State, pass_state
from fabric_platform.cli._inputs import json_value

__all__ = ["api", "find_operation", "operation_params"]

_JSON_MARKERS = ("Dict", "List", "Mapping", "Sequence", "Iterable", "Any", "types.")


def _operations() -> Dict[str, Any]:
    from fabric_platform_api.operations import OPERATIONS

    return OPERATIONS


def find_operation(name: str) -> Any:
    """The Operation called ``name`` (flat, namespaced or operationId), or None."""
    for op in _operations().values():
        if name in (op.flat, op.ns, op.operation_id):
            return op
    return None


def _method(client: Any, op: Any) -> Any:
    if op.flat:
        return getattr(client, op.flat)
    target = client
    for part in op.ns.split("."):
        target = getattr(target, part)
    return target


def operation_params(op: Any, client: Any) -> List[inspect.Parameter]:
    """The arguments of ``client``'s method behind ``op``, in signature order."""
    params = inspect.signature(_method(client, op)).parameters.values()
    return [p for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def _kind(param: inspect.Parameter) -> str:
    text = str(param.annotation)
    if param.name in ("idempotency_key",):
        return "str"
    if "bool" in text and "Dict" not in text:
        return "bool"
    if text.replace("Optional[", "").rstrip("]") == "int":
        return "int"
    if text.replace("Optional[", "").rstrip("]") == "float":
        return "float"
    if any(marker in text for marker in _JSON_MARKERS):
        return "json"
    return "str"


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _convert(param: inspect.Parameter, raw: str) -> Any:
    hint = f"'{_option(param.name)}'"
    kind = _kind(param)
    if raw == "-" and kind != "json":
        raw = sys.stdin.read().rstrip("\n")
    if kind == "json":
        return json_value(raw, hint=hint)
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise click.BadParameter(f"expected an integer, got {raw!r}", param_hint=hint) from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise click.BadParameter(f"expected a number, got {raw!r}", param_hint=hint) from None
    if kind == "bool":
        lowered = raw.lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise click.BadParameter(f"expected true or false, got {raw!r}", param_hint=hint)
        return lowered in ("true", "1", "yes")
    return raw


def parse_args(op: Any, args: Tuple[str, ...], client: Any) -> Dict[str, Any]:
    """``--run-id X --limit 3`` -> ``{"run_id": "X", "limit": 3}``, checked against the signature."""
    params = {_option(p.name): p for p in operation_params(op, client)}
    values: Dict[str, Any] = {}
    items = list(args)
    while items:
        flag = items.pop(0)
        name, eq, inline = flag.partition("=")
        param = params.get(name)
        if param is None:
            known = ", ".join(params) or "none"
            raise click.UsageError(f"{op.flat or op.ns} has no option {name!r} (options: {known})")
        if eq:
            raw = inline
        elif items:
            raw = items.pop(0)
        elif _kind(param) == "bool":
            raw = "true"
        else:
            raise click.BadParameter("needs a value", param_hint=f"'{name}'")
        values[param.name] = _convert(param, raw)
    for option, param in params.items():
        if param.default is inspect.Parameter.empty and param.name not in values:
            raise click.BadParameter(f"is required by {op.flat or op.ns}", param_hint=f"'{option}'")
    return values


def _help_for(op: Any, client: Any) -> str:
    lines = [f"{op.flat or op.ns}  ({op.method} {op.path})", f"  {op.summary}", "", "Options:"]
    for param in operation_params(op, client):
        required = " (required)" if param.default is inspect.Parameter.empty else ""
        kind = _kind(param)
        what = "JSON, - for stdin, @FILE" if kind == "json" else kind
        lines.append(f"  {_option(param.name):28} {what}{required}")
    if op.flat and op.ns:
        lines.append("")
        lines.append(f"Also: fabric api {op.ns}")
    return "\n".join(lines)


def _listing() -> str:
    rows = sorted(_operations().values(), key=lambda o: (o.tag, o.flat or o.ns))
    lines = [f"{len(rows)} operations (flat name, namespaced name, summary):", ""]
    for op in rows:
        lines.append(f"  {(op.flat or '-'):34} {op.ns:44} {op.summary}")
    return "\n".join(lines)


class _ApiCommand(click.Command):
    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help(ctx, formatter)
        formatter.write("\n" + _listing() + "\n")


@click.command(
    cls=_ApiCommand,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
)
@click.argument("operation", required=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "-h", "--help", "show_help", is_flag=True, help="Show the operations, or one operation's options."
)
@click.pass_context
@pass_state
def api(
    state: State, ctx: click.Context, operation: Optional[str], args: Tuple[str, ...], show_help: bool
) -> None:
    """Call any API operation: fabric api OPERATION [--param value]...

    Example: fabric api get_run --run-id 1f0c...
    """
    if operation is None or (show_help and operation is None):
        click.echo(ctx.get_help())
        return
    op = find_operation(operation)
    if op is None:
        raise click.BadParameter(
            f"unknown operation {operation!r} (see `fabric api --help`)", param_hint="'OPERATION'"
        )
    if show_help or "--help" in args or "-h" in args:
        click.echo(_help_for(op, state.client()))
        return
    values = parse_args(op, args, state.client())
    method = _method(state.client(), op)
    result = method(**values)
    if op.response == "sse":
        from fabric_platform.cli._events import iterate

        for event in iterate(result):
            state.output.ndjson(dict(event))
        return
    if isinstance(result, (bytes, bytearray)):
        sys.stdout.buffer.write(bytes(result))
        return
    if result is None:
        if state.json:
            state.output.emit(None)
        return
    state.output.emit(result)

"""Reading structured input from the command line: ``key=value`` pairs, JSON, files, stdin.

Every problem is a ``click.BadParameter`` naming the option, raised before any request.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, Iterable

import click

__all__ = ["json_value", "key_values", "read_json_source"]


def _scalar(text: str) -> Any:
    # JSON when it parses (numbers, true/false, null, objects, lists), else the text itself.
    try:
        return json.loads(text)
    except ValueError:
        return text


def key_values(pairs: Iterable[str], *, hint: str) -> Dict[str, Any]:
    """``["topic=AI agents", "depth=3"]`` -> ``{"topic": "AI agents", "depth": 3}``.

    Dotted keys nest: ``style.tone=dry`` -> ``{"style": {"tone": "dry"}}``.

    Raises:
        click.BadParameter: A pair without ``=`` or with an empty key.
    """
    result: Dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=hint)
        target = result
        parts = key.split(".")
        for part in parts[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise click.BadParameter(f"{part!r} is both a value and a group", param_hint=hint)
            target = nested
        target[parts[-1]] = _scalar(value)
    return result


def read_json_source(source: str, *, hint: str) -> Any:
    """The JSON in file ``source`` (``-``: stdin).

    Raises:
        click.BadParameter: The file cannot be read or is not JSON.
    """
    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {source}: {exc.strerror or exc}", param_hint=hint) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(
            f"{'stdin' if source == '-' else source} is not JSON: {exc}", param_hint=hint
        ) from None


def json_value(text: str, *, hint: str) -> Any:
    """A JSON argument: the text itself, ``-`` for stdin, or ``@FILE``.

    Raises:
        click.BadParameter: Not JSON.
    """
    if text == "-" or text.startswith("@"):
        return read_json_source("-" if text == "-" else text[1:], hint=hint)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON ({exc}): {text[:40]!r}", param_hint=hint) from None

"""What only the async twin has: the lines ``codegen/unasync.py`` drops from a sync module."""

from __future__ import annotations

import re
from typing import List

__all__ = ["drop_async_only"]

_ASYNC_ONLY_CODE = re.compile(r"#\s*async only\s*$")
_ASYNC_ONLY_PROSE = "(async only)"
_SECTION = re.compile(r"^\s*(Args|Raises|Returns|Yields|Attributes):\s*$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def drop_async_only(source: str) -> str:
    """Remove what only the async twin has.

    - a line of code ending with ``# async only`` (with the block under it, if it opens one);
    - a docstring line containing ``(async only)``, with its more deeply indented
      continuation lines; a docstring section (``Raises:``) left empty goes too.
    """
    lines = source.splitlines(keepends=True)
    out: List[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        code_marker = _ASYNC_ONLY_CODE.search(line)
        if code_marker or _ASYNC_ONLY_PROSE in line:
            opens_block = bool(code_marker) and line[: code_marker.start()].rstrip().endswith(":")
            deeper = code_marker is None or opens_block
            level = _indent(line)
            i += 1
            while deeper and i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > level):
                if not lines[i].strip() and code_marker is None:
                    break  # a blank line ends a docstring entry
                i += 1
            continue
        out.append(line)
        i += 1
    # A section header with no entry left under it.
    kept: List[str] = []
    for k, line in enumerate(out):
        if _SECTION.match(line):
            following = out[k + 1] if k + 1 < len(out) else ""
            if not following.strip() or _indent(following) <= _indent(line) or following.strip() == '"""':
                if kept and not kept[-1].strip():
                    kept.pop()
                continue
        kept.append(line)
    return "".join(kept)

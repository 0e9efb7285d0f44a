"""Generate the sync twins of the hand-written async modules (unasync, as httpcore does).

usage:
    python codegen/unasync.py             # rewrite every sync twin from its async source
    python codegen/unasync.py --check     # fail with a diff when a sync twin is stale or hand-edited

The async module is the source; its sync twin is derived from it token by token (``tokenize``),
so strings and comments are never rewritten by accident:

- code: ``async def/for/with`` lose ``async``, ``await`` goes, and names are renamed by
  ``rename()`` (the table below; ``AsyncGenerator[Y, S]`` becomes ``Generator[Y, S, None]``;
  ``asyncio.sleep`` becomes ``time.sleep``);
- strings and comments: only whole identifiers that ``rename()`` knows (``AsyncFabricClient``,
  ``async_runs`` …) are renamed, so a docstring names the right class and module.

A name that still says async after the rewrite is an error, not a guess: add it to RENAMES.
The result is import-sorted and formatted with the pinned ruff, so it is byte-stable.
"""

from __future__ import annotations

import argparse
import difflib
import io
import keyword
import re
import subprocess
import sys
import tokenize
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # codegen/, for the module below

from unasync_markers import drop_async_only  # noqa: E402

PACKAGE_DIR = Path("src/fabric_platform")

# The hand-written async sources and the folder their sync twins are generated into.
ASYNC_DIR = "_async"
SYNC_DIR = "_sync"
# (async source, sync twin), relative to src/fabric_platform: every module of _async/.
PAIRS: Tuple[Tuple[str, str], ...] = tuple(
    (f"{ASYNC_DIR}/{path.name}", f"{SYNC_DIR}/{path.name}")
    for path in sorted((ROOT / PACKAGE_DIR / ASYNC_DIR).glob("*.py"))
    if path.name != "__init__.py"  # each package says what it holds, in its own words
)

# Exact renames; they win over the prefix/suffix rules below.
RENAMES: Dict[str, str] = {
    # modules
    "async_client": "sync_client",  # fabric_platform_api.async_client
    "_async": "_sync",
    "asynccontextmanager": "contextmanager",
    # typing / collections.abc
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
    "AsyncGenerator": "Generator",  # and a third type argument, see _GENERATOR
    "AsyncContextManager": "ContextManager",
    "StopAsyncIteration": "StopIteration",
    # the SDK's own pairs whose sync name says Sync
    "AsyncOpener": "SyncOpener",
    "AsyncRefresh": "SyncRefresh",
    "AsyncTransport": "SyncTransport",
    "AsyncMethods": "SyncMethods",
    "AsyncByteStream": "SyncByteStream",  # httpx's (its ByteStream is another class)
    "AsyncDeadlineStream": "SyncDeadlineStream",
    "AsyncRefreshSender": "SyncRefreshSender",
    "arefresh": "refresh",
    "aiter_cursor": "iter_cursor",
    "aiter_offset": "iter_offset",
    "async_helpers": "sync_helpers",
    # protocols and httpx's async API
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "aclose": "close",
    "aiter_bytes": "iter_bytes",
    "aiter_lines": "iter_lines",
    "aiter_text": "iter_text",
    "aiter_raw": "iter_raw",
    "aread": "read",
}
# Rules for the rest: AsyncFabricClient -> FabricClient, httpx.AsyncClient -> Client,
# AsyncRunsResource -> RunsResource; async_wait_for_terminal -> wait_for_terminal;
# download_async -> download_sync.
_ASYNC_CLASS = re.compile(r"Async([A-Z]\w*)")
_ASYNC_PREFIX = re.compile(r"async_(\w+)")
_ASYNC_SUFFIX = re.compile(r"(\w+)_async")
_GENERATOR = "AsyncGenerator"
# Types that only say "awaitable": ``Awaitable[T]`` becomes ``T``.
_UNWRAPPED = "Awaitable"
# What must not survive in the code of a sync twin.
_LEFTOVER = re.compile(r"(?i)async|await|^__a(enter|exit|iter|next)__$|^aclose$|^aiter_|^aread$")
_IDENT = re.compile(r"\b[A-Za-z_]\w*\b")
# Tokens whose text is prose: only identifiers in them are renamed (f-string parts on 3.12+).
_PROSE = {tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}


class UnasyncError(Exception):
    """The async source uses something this script cannot translate mechanically."""


def rename(name: str) -> str:
    """The sync name of ``name`` (``name`` itself when it is not an async name)."""
    if name in RENAMES:
        return RENAMES[name]
    for pattern, template in ((_ASYNC_CLASS, r"\1"), (_ASYNC_PREFIX, r"\1"), (_ASYNC_SUFFIX, r"\1_sync")):
        if pattern.fullmatch(name):
            return pattern.sub(template, name)
    return name


def _rename_prose(text: str) -> str:
    """Rename the identifiers a string or comment mentions; leave every other word alone."""
    return _IDENT.sub(lambda m: rename(m.group(0)), text)


Edit = Tuple[Tuple[int, int], Tuple[int, int], str]


def _edits(tokens: List[tokenize.TokenInfo]) -> List[Edit]:
    """(start, end, replacement) for every token that changes, in source order."""
    edits: List[Edit] = []
    code = [t for t in tokens if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)]
    position = {id(t): i for i, t in enumerate(code)}
    generator_closers: Set[int] = set()  # indexes in `code` of the "]" closing AsyncGenerator[...]
    unwrapped_closers: Set[int] = set()  # ... and of the "]" closing Awaitable[...]

    def nxt(i: int) -> Optional[tokenize.TokenInfo]:
        return code[i + 1] if i + 1 < len(code) else None

    def prev(i: int) -> Optional[tokenize.TokenInfo]:
        return code[i - 1] if i > 0 else None

    for tok in tokens:
        if tok.type in _PROSE:
            new = _rename_prose(tok.string)
            if new != tok.string:
                edits.append((tok.start, tok.end, new))
            continue
        if tok.type == tokenize.OP and tok.string == "]" and position.get(id(tok)) in generator_closers:
            edits.append((tok.start, tok.start, ", None"))
            continue
        if tok.type == tokenize.OP and tok.string == "]" and position.get(id(tok)) in unwrapped_closers:
            edits.append((tok.start, tok.end, ""))
            continue
        if tok.type != tokenize.NAME:
            continue
        i = position[id(tok)]
        after, before = nxt(i), prev(i)
        if tok.string in ("async", "await"):
            if tok.string == "async" and (after is None or after.string not in ("def", "for", "with")):
                raise UnasyncError(f"line {tok.start[0]}: `async` not before def/for/with")
            if tok.string == "await" and after is None:
                raise UnasyncError(f"line {tok.start[0]}: `await` at the end of the file")
            assert after is not None
            # Drop the keyword and the blanks after it (up to the next token on the same line).
            end = after.start if after.start[0] == tok.start[0] else tok.end
            edits.append((tok.start, end, ""))
            if tok.string == "await":
                edits.extend(_unwrap(code, i, tokens))
            continue
        if tok.string == "asyncio":
            if before is not None and before.string == "import":
                edits.append((tok.start, tok.end, "time"))
                continue
            following = nxt(i + 1)
            if after is not None and after.string == "." and following and following.string == "sleep":
                edits.append((tok.start, tok.end, "time"))
                continue
            raise UnasyncError(
                f"line {tok.start[0]}: only `import asyncio` and `asyncio.sleep` have a sync twin"
            )
        if tok.string == _UNWRAPPED and after is not None and after.string == "[":
            unwrapped_closers.add(_closing(code, i + 1))
            edits.append((tok.start, after.end, ""))
            continue
        if tok.string == _UNWRAPPED and before is not None and before.string in ("import", ",", "("):
            # `from typing import Awaitable, …`: the sync twin has no use for it.
            if after is not None and after.string == ",":
                following = nxt(i + 1)
                end = (
                    following.start
                    if following is not None and following.start[0] == tok.start[0]
                    else after.end
                )
                edits.append((tok.start, end, ""))
            elif before.string == ",":
                edits.append((before.start, tok.end, ""))
            else:
                raise UnasyncError(f"line {tok.start[0]}: import Awaitable alone")
            continue
        new = rename(tok.string)
        if tok.string == _GENERATOR and after is not None and after.string == "[":
            depth = 0
            for j in range(i + 1, len(code)):
                if code[j].type == tokenize.OP and code[j].string in "([{":
                    depth += 1
                elif code[j].type == tokenize.OP and code[j].string in ")]}":
                    depth -= 1
                    if depth == 0:
                        generator_closers.add(j)
                        break
        if new != tok.string:
            edits.append((tok.start, tok.end, new))
    return edits


def _closing(code: List[tokenize.TokenInfo], opening: int) -> int:
    """The index in ``code`` of the bracket that closes the one at ``opening``."""
    depth = 0
    for j in range(opening, len(code)):
        if code[j].type == tokenize.OP and code[j].string in "([{":
            depth += 1
        elif code[j].type == tokenize.OP and code[j].string in ")]}":
            depth -= 1
            if depth == 0:
                return j
    raise UnasyncError(f"line {code[opening].start[0]}: unbalanced brackets")


def _unwrap(code: List[tokenize.TokenInfo], i: int, tokens: List[tokenize.TokenInfo]) -> List[Edit]:
    """Drop the parentheses ruff puts around ``return (await x)[…]`` and ``y = (await x)``.

    ``code[i]`` is the ``await``. Only when the parentheses follow ``return`` or ``=`` (so they
    group, they do not call) and hold nothing but ``await`` and one primary (names, dots, calls,
    subscripts, literals): without ``await`` they group a primary and change nothing. Ruff keeps
    such parentheses; the sync twin reads as if written by hand without them.
    """
    if i < 2 or code[i - 1].string != "(" or code[i - 2].string not in ("return", "="):
        return []
    depth = 1
    for j in range(i + 1, len(code)):
        token = code[j]
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and not (
            (token.type == tokenize.NAME and not keyword.iskeyword(token.string))
            or token.type in (tokenize.NUMBER, tokenize.STRING)
            or (token.type == tokenize.OP and token.string == ".")
        ):
            return []  # an operator, a comma, a keyword: more than one primary
    else:
        return []
    where = {id(t): k for k, t in enumerate(tokens)}
    between = (
        tokens[where[id(code[i - 1])] : where[id(code[i])]]
        + tokens[where[id(code[j - 1])] : where[id(token)]]
    )
    if any(t.type == tokenize.COMMENT for t in between):
        return []
    # Remove "(" up to the await and ")" back to the token before it: the lines join up.
    return [(code[i - 1].start, code[i].start, ""), (code[j - 1].end, token.end, "")]


def _apply(source: str, edits: Sequence[Edit]) -> str:
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def at(pos: Tuple[int, int]) -> int:
        return offsets[pos[0] - 1] + pos[1]

    out = source
    for start, end, text in sorted(edits, key=lambda e: (at(e[0]), at(e[1])), reverse=True):
        out = out[: at(start)] + text + out[at(end) :]
    return out


def _leftovers(source: str) -> List[str]:
    found: List[str] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and _LEFTOVER.search(tok.string):
            found.append(f"line {tok.start[0]}: {tok.string}")
    return found


def _ruff(args: List[str], source: str, filename: Path) -> str:
    """Run the pinned ruff on ``source`` (stdin) with explicit rules, as codegen/generate.py does."""
    common = ["--isolated", "--line-length", "110", "--target-version", "py39"]
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *args, *common, "--stdin-filename", str(filename), "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise UnasyncError(f"ruff {args[0]} failed on {filename}:\n{done.stderr}")
    return done.stdout


def header(async_rel: str) -> str:
    return (
        f"# Generated by codegen/unasync.py from {async_rel}. "
        "Do not edit: change the async source, then run `make generate`."
    )


def rewrite(source: str) -> str:
    """The sync twin of the async code ``source``, before import sorting and formatting."""
    source = drop_async_only(source)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    text = _apply(source, _edits(tokens))
    left = _leftovers(text)
    if left:
        raise UnasyncError(f"async names left after the rewrite (add them to RENAMES): {left}")
    return text


def unasync(source: str, async_rel: str, sync_path: Path) -> str:
    """The formatted sync twin of the async module ``source``."""
    try:
        text = f"{header(async_rel)}\n{rewrite(source)}"
    except UnasyncError as err:
        raise UnasyncError(f"{async_rel}: {err}") from None
    text = _ruff(["check", "--select", "I", "--fix-only", "--quiet"], text, sync_path)
    return _ruff(["format", "--quiet"], text, sync_path)


def render(root: Path = ROOT) -> Dict[Path, str]:
    """Every sync twin (absolute path) and the text it should have."""
    base = root / PACKAGE_DIR
    out: Dict[Path, str] = {}
    for async_rel, sync_rel in PAIRS:
        source = (base / async_rel).read_text(encoding="utf-8")
        out[base / sync_rel] = unasync(source, async_rel, PACKAGE_DIR / sync_rel)
    return out


def check(root: Path = ROOT) -> List[str]:
    """Diff lines (empty when every sync twin is what its async source generates)."""
    lines: List[str] = []
    for path, expected in render(root).items():
        actual = path.read_text(encoding="utf-8") if path.exists() else ""
        if actual != expected:
            rel = path.relative_to(root).as_posix()
            lines.extend(
                difflib.unified_diff(
                    actual.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    f"{rel} (on disk)",
                    f"{rel} (generated)",
                    n=2,
                )
            )
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="fail when a sync twin differs from its async source"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        if args.check:
            diff = check(root)
            if diff:
                sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in diff[:400])
                print(
                    f"\nsync twins are stale or hand-edited ({len(diff)} diff lines): edit the async source, "
                    "run `make generate` and commit the result."
                )
                return 1
            print(f"sync twins are up to date with their async sources ({len(PAIRS)} modules)")
            return 0
        for path, text in render(root).items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"generated {path.relative_to(root).as_posix()}")
    except UnasyncError as err:
        print(f"unasync: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

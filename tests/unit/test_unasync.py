"""codegen/unasync.py: the sync twins are generated from their async sources, the drift check
fails on a stale or hand-edited twin, and the rewrite is mechanical (names, not prose)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "codegen" / "unasync.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


unasync = _load()


def _copy_tree(tmp_path: Path) -> Path:
    """The async sources and sync twins, copied into a scratch root (the real tree is not touched)."""
    for async_rel, sync_rel in unasync.PAIRS:
        for rel in (async_rel, sync_rel):
            target = tmp_path / unasync.PACKAGE_DIR / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / unasync.PACKAGE_DIR / rel, target)
    return tmp_path


def test_check_passes_on_the_committed_tree() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_sync_twins_say_they_are_generated() -> None:
    for async_rel, sync_rel in unasync.PAIRS:
        first = (ROOT / unasync.PACKAGE_DIR / sync_rel).read_text(encoding="utf-8").splitlines()[0]
        assert first == unasync.header(async_rel)


def test_a_hand_edit_to_a_sync_twin_is_detected(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    twin = root / unasync.PACKAGE_DIR / "_sync" / "workflows.py"
    text = twin.read_text(encoding="utf-8")
    line = '        self.wait(run["id"], timeout=timeout)\n'
    assert line in text
    twin.write_text(text.replace(line, '        self.wait(run["id"])  # hand edit\n', 1), encoding="utf-8")

    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--root", str(root)], capture_output=True, text=True
    )
    assert done.returncode == 1, done.stdout + done.stderr
    # A readable diff: which file, the hand-edited line, and what the async source generates.
    assert "src/fabric_platform/_sync/workflows.py (on disk)" in done.stdout
    assert '-        self.wait(run["id"])  # hand edit' in done.stdout
    assert "+" + line.rstrip("\n") in done.stdout
    assert "_sync/downloads.py" not in done.stdout
    assert "stale or hand-edited" in done.stdout

    # `make generate` (no --check) puts the twin back.
    regenerated = subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True)
    assert regenerated.returncode == 0
    assert twin.read_text(encoding="utf-8") == text


def test_an_async_change_without_regeneration_is_detected(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    source = root / unasync.PACKAGE_DIR / "_async" / "downloads.py"
    source.write_text(source.read_text(encoding="utf-8") + "\n\nEXTRA = 1\n", encoding="utf-8")
    assert unasync.check(root)


def test_the_rewrite_table() -> None:
    source = textwrap.dedent(
        '''
        import asyncio
        from typing import AsyncGenerator, AsyncIterator

        from fabric_platform_api.async_client import WorkflowsNamespace

        from ._waiting import async_wait_for_terminal


        class AsyncThing(WorkflowsNamespace):
            """Uses AsyncFabricClient and ``_async``; async prose and asyncio stay."""

            async def __aenter__(self) -> AsyncThing:
                return self

            async def lines(self, response) -> AsyncIterator[str]:
                async with response as r:  # AsyncThing in a comment
                    async for chunk in r.aiter_bytes():
                        yield chunk
                await r.aclose()
                await asyncio.sleep(0.1)
                return (await r.aread())["id"]

            async def gen(self) -> AsyncGenerator[int, None]:
                yield await async_wait_for_terminal("async def")
        '''
    )
    out = unasync.rewrite(source)
    assert "import time\n" in out and "time.sleep(0.1)" in out
    assert "from typing import Generator, Iterator" in out
    assert "fabric_platform_api.sync_client" in out and "from ._waiting import wait_for_terminal" in out
    assert "class Thing(WorkflowsNamespace):" in out
    assert '"""Uses FabricClient and ``_sync``; async prose and asyncio stay."""' in out
    assert "def __enter__(self) -> Thing:" in out
    assert "def lines(self, response) -> Iterator[str]:" in out
    assert "with response as r:  # Thing in a comment" in out
    assert "for chunk in r.iter_bytes():" in out
    assert "r.close()" in out and 'return r.read()["id"]' in out
    assert "def gen(self) -> Generator[int, None, None]:" in out
    assert 'yield wait_for_terminal("async def")' in out  # strings keep their prose


def test_an_untranslatable_use_is_an_error() -> None:
    with pytest.raises(unasync.UnasyncError):
        unasync.rewrite("import asyncio\n\n\nasync def f():\n    await asyncio.gather()\n")


def test_what_only_the_async_twin_has_is_dropped() -> None:
    source = textwrap.dedent(
        '''
        from typing import Awaitable, Callable

        from x import LIMIT  # async only


        async def f(
            sleep: Callable[[float], Awaitable[None]],
            limit: int = LIMIT,  # async only
        ) -> None:
            """Wait.

            Args:
                sleep: How to wait.
                limit: (async only) How many at once,
                    counted per event loop.

            Raises:
                ValueError: (async only) ``limit`` is below 1.
            """
            if limit < 1:  # async only
                raise ValueError(limit)
            await sleep(1.0)
        '''
    )
    out = unasync.rewrite(source)
    assert "LIMIT" not in out and "limit" not in out and "Raises:" not in out
    assert "from typing import Callable\n" in out
    assert "sleep: Callable[[float], None]," in out
    assert "        sleep: How to wait.\n" in out and "    sleep(1.0)\n" in out

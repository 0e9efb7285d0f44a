"""Every Python code block of README.md and docs/ runs, against a local emulator.

A page is one namespace: its blocks run top to bottom, so a later block sees what an earlier
one defined, as a reader would. Blocks are written as users type them, so `FabricClient()`
with no arguments must reach the emulator: each page runs with ``FABRIC_BASE_URL`` /
``FABRIC_API_KEY`` / ``FABRIC_ORGANIZATION_ID`` naming a fresh `LocalFabric` (pages never
see each other's data) and in a scratch working directory (downloads land there).

A block that must not run (a connection to ``https://fabric.example.com``) is preceded by
``<!-- skip: next -->``; shell transcripts are fenced as ``console`` and never run.
Sybil finds the blocks and the skip markers; this module only gives each page its server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from sybil import Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

from fabric_platform.testing import LocalFabric

ROOT = Path(__file__).resolve().parents[2]
_ENV = (
    "FABRIC_BASE_URL",
    "FABRIC_API_KEY",
    "FABRIC_ORGANIZATION_ID",
    "FABRIC_PRINCIPAL_ID",
    "FABRIC_PROFILE",
)
_SYBIL = Sybil(parsers=[PythonCodeBlockParser(), SkipParser()])


def pages() -> List[Path]:
    """README.md and the hand-written pages (the generated reference has no examples)."""
    found = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [p for p in found if "reference" not in p.relative_to(ROOT).parts]


def python_blocks(page: Path) -> int:
    return sum(1 for e in _SYBIL.parse(page) if isinstance(e.region.evaluator, PythonEvaluator))


@pytest.fixture
def docs_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalFabric]:
    with LocalFabric(speed=50) as local:
        for name in _ENV:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("FABRIC_BASE_URL", local.base_url)
        monkeypatch.setenv("FABRIC_API_KEY", local.api_key)
        monkeypatch.setenv("FABRIC_ORGANIZATION_ID", local.organization_id)
        monkeypatch.chdir(tmp_path)
        yield local


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_block_of_the_page_runs(page: Path, docs_environment: LocalFabric) -> None:
    document = _SYBIL.parse(page)
    namespace: Dict[str, Any] = document.namespace
    try:
        for example in document:
            try:
                example.evaluate()
            except Exception as err:
                rel = page.relative_to(ROOT)
                raise AssertionError(f"{rel}, line {example.line}: {type(err).__name__}: {err}") from err
    finally:
        for value in namespace.values():
            if type(value).__name__ == "FabricClient":
                value.close()

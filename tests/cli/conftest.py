"""Fixtures of the command-line tests: one emulator per module, a private config folder per test."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from cli_support import Fab

from fabric_platform.testing import LocalFabric


@pytest.fixture(scope="module")
def local() -> Iterator[LocalFabric]:
    with LocalFabric(speed=50) as fabric:
        yield fabric


@pytest.fixture
def fab(local: LocalFabric, tmp_path: Path) -> Fab:
    return Fab(local, tmp_path / "xdg")

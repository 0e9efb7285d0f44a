"""What the built wheel ships to users: the typing markers.

The wheel is built once per module from this checkout (``pip wheel``, as a user's install
would), then read as a zip: a marker that only exists in the source tree does not count.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=110,
    )
    (built,) = out.glob("fabric_platform-*.whl")
    with zipfile.ZipFile(built) as whl:
        yield whl


@pytest.mark.parametrize("package", ["fabric_platform", "fabric_platform_api"])
def test_the_wheel_marks_each_package_as_typed(wheel: zipfile.ZipFile, package: str) -> None:
    # PEP 561: without the marker mypy treats every import from the package as Any.
    assert f"{package}/py.typed" in wheel.namelist()

"""What the built wheel ships to users: the typing markers and the pytest plugin.

The wheel is built once per module from this checkout (``pip wheel``, as a user's install
would), then read as a zip: a marker that only exists in the source tree does not count.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from configparser import ConfigParser
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


def test_the_wheel_registers_the_pytest_plugin(wheel: zipfile.ZipFile) -> None:
    # pytest loads the fixtures from this entry point: users need no conftest.py.
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    entry_points = ConfigParser()
    entry_points.read_string(wheel.read(name).decode("utf-8"))
    assert dict(entry_points["pytest11"]) == {"fabric_platform": "fabric_platform.testing._pytest_plugin"}
    assert "fabric_platform/testing/_pytest_plugin.py" in wheel.namelist()

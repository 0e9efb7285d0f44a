"""safe_filename: any string becomes one portable name that stays inside its folder."""

from __future__ import annotations

import os
import posixpath
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabric_platform._core.filenames import (
    MAX_NAME_BYTES,
    filename_from_disposition,
    filename_from_url,
    safe_filename,
    unique_names,
)

# Text rich in what attacks look like: separators, dots, drive letters, controls, bidi marks.
_ATOMS = st.sampled_from(
    ["/", "\\", "..", ".", ":", "C:", "\x00", "\n", "\u202e", " ", "con", "aux", "~", "ä"]
)
hostile_text = st.lists(st.one_of(_ATOMS, st.text(max_size=8)), max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(hostile_text)
def test_any_name_becomes_one_safe_component(name: str) -> None:
    safe = safe_filename(name)
    assert safe and safe not in (".", "..")
    assert "/" not in safe and "\\" not in safe and ":" not in safe
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in safe)
    assert not safe.startswith((".", " ")) and not safe.endswith((".", " "))
    assert len(safe.encode("utf-8")) <= MAX_NAME_BYTES
    assert safe_filename(safe) == safe, "sanitising is idempotent"
    folder = "/srv/downloads"
    assert posixpath.dirname(posixpath.normpath(posixpath.join(folder, safe))) == folder
    assert os.path.dirname(os.path.normpath(os.path.join(folder, safe))) == os.path.normpath(folder)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("C:\\Windows\\System32\\drivers\\etc\\hosts", "hosts"),
        ("D:evil.exe", "evil.exe"),
        ("\\\\server\\share\\x.bin", "x.bin"),
        ("..", "download"),
        ("", "download"),
        (None, "download"),
        ("com1.txt", "_com1.txt"),
        ("LPT9", "_LPT9"),
        ("CONIN$", "_CONIN$"),
        ("trailing. . ", "trailing"),
        ("tab\there.txt", "tabhere.txt"),
        ("a*b?c|d.txt", "a_b_c_d.txt"),
        ("e\u0301te\u0301.txt", "\u00e9t\u00e9.txt"),  # NFC
    ],
)
def test_known_cases(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_long_names_keep_their_extension() -> None:
    safe = safe_filename("\u00e9" * 300 + ".tar.gz")
    assert safe.endswith(".gz") and len(safe.encode("utf-8")) <= MAX_NAME_BYTES


def test_fallback_is_sanitised_too() -> None:
    assert safe_filename("..", fallback="../asset-1") == "asset-1"
    assert safe_filename("", fallback="..") == "download"


def test_content_disposition() -> None:
    assert filename_from_disposition('attachment; filename="a b.png"') == "a b.png"
    assert filename_from_disposition("attachment; filename=plain.txt") == "plain.txt"
    assert (
        filename_from_disposition("attachment; filename*=UTF-8''%E2%82%AC%20rates.txt") == "\u20ac rates.txt"
    )
    assert filename_from_disposition("attachment; filename=\"x.txt\"; filename*=UTF-8''y.txt") == "y.txt"
    assert filename_from_disposition("inline") is None
    assert filename_from_disposition(None) is None


def test_url_names() -> None:
    assert filename_from_url("https://cdn.test/a/b%20c.png?sig=x") == "b c.png"
    assert filename_from_url("https://cdn.test/") is None


def test_unique_names_are_stable_and_case_insensitive() -> None:
    assert unique_names(["a.mp4", "a.mp4", "A.mp4", "a-1.mp4", "b"]) == [
        "a.mp4",
        "a-1.mp4",
        "A-2.mp4",
        "a-1-1.mp4",
        "b",
    ]
    long = "x" * MAX_NAME_BYTES
    names = unique_names([long, long, long])
    assert len(set(names)) == 3 and all(len(n.encode()) <= MAX_NAME_BYTES for n in names)

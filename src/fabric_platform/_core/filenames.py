"""File names a server supplies, made safe to create inside a destination folder.

A download's name can come from the API (``artifact.filename``), a ``Content-Disposition``
header or the URL. All three are server-controlled, so none of them may choose *where* a
file is written: :func:`safe_filename` reduces any string to one plain path component that
is valid on POSIX, macOS and Windows alike (a folder written on Linux is often opened on
Windows), and is idempotent, so sanitising an already safe name changes nothing.

Pure functions, no I/O.
"""

from __future__ import annotations

import email.message
import email.utils
import posixpath
import re
import unicodedata
from typing import Iterable, List, Optional, Set
from urllib.parse import unquote, urlsplit

__all__ = [
    "MAX_NAME_BYTES",
    "filename_from_disposition",
    "filename_from_url",
    "safe_filename",
    "unique_names",
]

# Room is left below the usual 255-byte limit for the hidden temp file next to the final
# one (".<name>.<12 hex>.part").
MAX_NAME_BYTES = 200
_MAX_EXTENSION = 16
# Windows refuses these anywhere in a name; "/" and "\\" are handled before (path splits).
_FORBIDDEN = re.compile(r'[<>:"|?*]')
# Device names Windows reserves with any extension ("con.txt" opens the console).
# filename*=<charset>'<language>'<percent-encoded bytes>
_EXTENDED = re.compile(r"filename\*\s*=\s*([A-Za-z0-9!#$%&+^_`{}~-]*)'[^']*'([^;\s]+)", re.IGNORECASE)
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")}
)


def _drop_controls(text: str) -> str:
    # Cc: NUL, newlines, escapes. Cf: invisible format characters, among them the bidi
    # overrides that make "gnp.exe" display as "exe.png".
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))


def _truncate(name: str) -> str:
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > _MAX_EXTENSION:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
    return cut + suffix


def _clean(name: str) -> str:
    text = unicodedata.normalize("NFC", name)
    text = _drop_controls(text)
    # Both separators on every OS: a name from a Windows server must not climb out on POSIX.
    text = re.split(r"[/\\]", text)[-1]
    text = re.sub(r"^[A-Za-z]:", "", text)  # "C:evil" is relative to drive C's cwd on Windows
    text = _FORBIDDEN.sub("_", text)
    text = text.strip(" .")
    if text.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        text = f"_{text}"
    return _truncate(text)


def safe_filename(name: Optional[str], *, fallback: str = "download") -> str:
    """Reduce a (possibly hostile) name to a single, portable file name.

    Only the last path component survives (``../../etc/passwd`` → ``passwd``,
    ``C:\\Windows\\evil.dll`` → ``evil.dll``); control and invisible format characters are
    removed; characters Windows forbids become ``_``; leading dots and spaces and trailing
    dots and spaces are stripped (no hidden files, no ``..``); Windows device names get a
    ``_`` prefix; the result is at most :data:`MAX_NAME_BYTES` UTF-8 bytes, keeping the
    extension.

    Args:
        name: The untrusted name (None or empty: use ``fallback``).
        fallback: Used when nothing is left; sanitised the same way (then ``"download"``).

    Returns:
        A non-empty name without any path separator.
    """
    return _clean(name or "") or _clean(fallback) or "download"


def filename_from_disposition(value: Optional[str]) -> Optional[str]:
    """The file name a ``Content-Disposition`` header suggests (RFC 6266), unsanitised.

    ``filename*`` (RFC 8187, e.g. ``UTF-8''%E2%82%AC.txt``) wins over ``filename``.

    Args:
        value: The header value, or None.

    Returns:
        The name, or None when the header has none (or only a malformed one).
    """
    if not value:
        return None
    extended = _EXTENDED.search(value)
    if extended:
        charset, encoded = extended.group(1) or "utf-8", extended.group(2)
        try:
            return unquote(encoded, encoding=charset, errors="strict") or None
        except (LookupError, UnicodeDecodeError):
            pass  # an unknown charset or bad bytes: fall back to the plain parameter
    msg = email.message.Message()
    msg["content-disposition"] = value
    raw = msg.get_param("filename", header="content-disposition")
    if raw is None:
        return None
    name = email.utils.collapse_rfc2231_value(raw)
    return name or None


def filename_from_url(url: str) -> Optional[str]:
    """The last segment of a URL's path, percent-decoded, unsanitised (None if empty)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    segment = posixpath.basename(path.rstrip("/")) if path else ""
    return unquote(segment) or None


def unique_names(names: Iterable[str]) -> List[str]:
    """Make names unique for one folder, keeping their order and the first name as is.

    Duplicates get ``-1``, ``-2``... before the extension (``short.mp4``, ``short-1.mp4``).
    Comparison ignores case, because macOS and Windows folders do.

    Args:
        names: Already safe names, in the order their files will be written.

    Returns:
        As many names, pairwise different (case-insensitively).
    """
    used: Set[str] = set()
    out: List[str] = []
    for name in names:
        candidate, n = name, 0
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, dot, ext = name, "", ""
        while candidate.casefold() in used:
            n += 1
            suffix = f"-{n}{dot}{ext}"
            # Shorten the stem, never the counter: a cut counter would loop forever.
            budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
            candidate = stem.encode("utf-8")[:budget].decode("utf-8", "ignore") + suffix
        used.add(candidate.casefold())
        out.append(candidate)
    return out

"""The hidden temp file a download is written to: all or nothing on disk."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Optional

__all__ = ["PartFile"]


class PartFile:
    """The hidden temp file a download is written to, next to its final path.

    Created with ``O_EXCL`` (never follows or clobbers an existing file) and the process
    umask (so the finished file has the permissions any new file would have).
    """

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path: Optional[Path] = None
        self._fd: Optional[int] = None

    def open(self) -> None:
        """Create the folder if needed, then the temp file."""
        self.final.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while True:
            candidate = self.final.with_name(f".{self.final.name}.{secrets.token_hex(6)}.part")
            try:
                self._fd = os.open(candidate, flags, 0o666)
            except FileExistsError:  # pragma: no cover - 48 random bits
                continue
            self.path = candidate
            return

    def write(self, chunk: bytes) -> None:
        """Append a chunk (os.write may write less than asked: loop until all is out)."""
        assert self._fd is not None
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def restart(self) -> None:
        """Discard what was written (the server is sending the file again from byte 0)."""
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)

    def commit(self) -> Path:
        """Flush to disk, then atomically replace the final path with the temp file."""
        assert self._fd is not None and self.path is not None
        fd, self._fd = self._fd, None
        try:
            # Without fsync a crash right after the rename can leave an empty final file.
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.path, self.final)
        self.path = None
        return self.final

    def discard(self) -> None:
        """Close and delete the temp file (idempotent, never raises)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None

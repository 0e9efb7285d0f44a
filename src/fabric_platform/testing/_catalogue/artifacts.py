"""Artifact bytes for the emulator's built-in workflows: real files, generated on demand.

Everything here is deterministic (the same arguments give the same bytes on every
Python version) and pure (no I/O). Large artifacts are streamed block by block, so a
200 MB download never sits in memory.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib
from dataclasses import dataclass, field
from typing import Iterator, Optional

__all__ = ["ArtifactSpec", "big_artifact", "make_mp4", "make_png"]

_BLOCK = 65536
# Odd, so block offsets (i * _STRIDE mod _BLOCK) run through all 65 536 rotations before
# repeating: blocks of a stream stay distinct for the first 4 GiB.
_STRIDE = 40503
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_PNG_SIDE = 4096


@dataclass(frozen=True)
class ArtifactSpec:
    """A file a workflow produced: its description plus a way to regenerate its bytes.

    Exactly one of ``content`` (small files, kept in memory) and ``stream_seed`` (large
    files, generated block by block on each read) is set.
    """

    filename: str
    content_type: str
    size_bytes: int
    artifact_type: str
    task_id: str
    content: Optional[bytes] = field(default=None, repr=False)
    stream_seed: Optional[str] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.content is None) == (self.stream_seed is None):
            raise ValueError("ArtifactSpec needs exactly one of content and stream_seed")
        if self.size_bytes < 0:
            raise ValueError("size_bytes must be >= 0")
        if self.content is not None and len(self.content) != self.size_bytes:
            raise ValueError("size_bytes does not match the length of content")

    def iter_bytes(
        self, chunk_size: int = _BLOCK, *, start: int = 0, end: Optional[int] = None
    ) -> Iterator[bytes]:
        """Stream the file's bytes.

        Args:
            chunk_size: Largest chunk to yield (every chunk but the last has this size).
            start: First byte offset (for HTTP ranges).
            end: Offset after the last byte; defaults to the file size.

        Returns:
            An iterator of non-empty chunks covering ``[start, end)``.

        Raises:
            ValueError: ``chunk_size`` < 1 or the range is outside the file.
        """
        stop = self.size_bytes if end is None else end
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        if not 0 <= start <= stop <= self.size_bytes:
            raise ValueError(f"range [{start}, {stop}) is outside 0..{self.size_bytes}")
        if self.content is not None:
            view = memoryview(self.content)
            return (bytes(view[i : min(i + chunk_size, stop)]) for i in range(start, stop, chunk_size))
        return _rechunk(_stream_range(_seed_block(self.stream_seed or ""), start, stop), chunk_size)

    def read(self) -> bytes:
        """All bytes at once (for small artifacts; large ones should use :meth:`iter_bytes`)."""
        return self.content if self.content is not None else b"".join(self.iter_bytes())

    @functools.cached_property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes, computed by streaming once and then cached."""
        digest = hashlib.sha256()
        for chunk in self.iter_bytes():
            digest.update(chunk)
        return digest.hexdigest()


@functools.lru_cache(maxsize=32)
def _seed_block(seed: str) -> bytes:
    return hashlib.shake_256(seed.encode("utf-8")).digest(_BLOCK)


def _stream_range(base: bytes, start: int, stop: int) -> Iterator[bytes]:
    # Block i is the seed block rotated by i * _STRIDE: a memcpy per 64 KiB instead of
    # hashing every byte, which keeps a 200 MB stream well under a second.
    index, offset = divmod(start, _BLOCK)
    position = start
    while position < stop:
        k = (index * _STRIDE) % _BLOCK
        block = base[k:] + base[:k]
        take = min(_BLOCK - offset, stop - position)
        yield block[offset : offset + take]
        position += take
        index += 1
        offset = 0


def _rechunk(blocks: Iterator[bytes], chunk_size: int) -> Iterator[bytes]:
    if chunk_size == _BLOCK:
        yield from blocks
        return
    pending = b""
    for block in blocks:
        data = pending + block if pending else block
        i = 0
        while len(data) - i >= chunk_size:  # slice by offset: no quadratic re-copying
            yield data[i : i + chunk_size]
            i += chunk_size
        pending = data[i:]
    if pending:
        yield pending


def big_artifact(size_bytes: int, *, filename: str = "large.bin") -> ArtifactSpec:
    """A large file of deterministic pseudo-random bytes, streamed, never held in memory.

    Args:
        size_bytes: Exact size of the file.
        filename: Name to give it.

    Returns:
        An :class:`ArtifactSpec` (``application/octet-stream``); the same arguments give
        the same bytes and hence the same ``sha256``.

    Raises:
        ValueError: ``size_bytes`` is negative.
    """
    return ArtifactSpec(
        filename=filename,
        content_type="application/octet-stream",
        size_bytes=size_bytes,
        artifact_type="file",
        task_id="generate_file",
        stream_seed=f"fabric-emulator:big:{filename}:{size_bytes}",
    )


# --- PNG ---------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    # A chunk's CRC covers its type and data, not its length field.
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def make_png(width: int, height: int, *, seed: str) -> bytes:
    """A small, valid RGB PNG whose colours and layout derive from ``seed``.

    It looks like a thumbnail mock-up: a vertical gradient with a "title band" and an
    accent bar, so different seeds are visibly different images.

    Args:
        width: Width in pixels (1..4096).
        height: Height in pixels (1..4096).
        seed: Any text; the same seed and size give the same bytes.

    Returns:
        The PNG file (8-bit truecolour, no interlace, zlib-compressed scanlines).

    Raises:
        ValueError: A side is outside 1..4096.
    """
    if not (1 <= width <= _MAX_PNG_SIDE and 1 <= height <= _MAX_PNG_SIDE):
        raise ValueError(f"PNG sides must be 1..{_MAX_PNG_SIDE}, got {width}x{height}")
    h = hashlib.sha256(seed.encode("utf-8")).digest()
    top, bottom, band, accent = h[0:3], h[3:6], h[6:9], h[9:12]
    band_y0, band_y1 = height * (30 + h[12] % 20) // 100, height * (60 + h[13] % 20) // 100
    band_x0, band_x1 = width * (5 + h[14] % 10) // 100, width * (85 + h[15] % 10) // 100
    accent_x1 = max(1, width * (10 + h[16] % 30) // 100)
    rows = []
    for y in range(height):
        t = y / max(1, height - 1)
        shade = bytes(round(a + (b - a) * t) for a, b in zip(top, bottom))
        row = bytearray(shade * width)
        if band_y0 <= y < band_y1 and band_x1 > band_x0:
            row[band_x0 * 3 : band_x1 * 3] = band * (band_x1 - band_x0)
        elif y >= height - max(1, height // 12):
            row[: accent_x1 * 3] = accent * accent_x1
        rows.append(b"\x00" + bytes(row))  # filter type 0 (None) per scanline
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _png_chunk(b"IHDR", ihdr),
            _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9)),
            _png_chunk(b"IEND", b""),
        )
    )


# --- MP4 ---------------------------------------------------------------------------------


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def make_mp4(*, seed: str, payload_bytes: int) -> bytes:
    """A small deterministic MP4-typed blob: ``ftyp``, ``free`` and ``mdat`` boxes.

    The box structure parses as ISO BMFF (what ``file`` and browsers sniff), but there
    is no ``moov``: it is a stand-in for a rendered video, not a playable one.

    Args:
        seed: Any text; the same seed and size give the same bytes.
        payload_bytes: Size of the ``mdat`` payload.

    Returns:
        The file's bytes.
    """
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41")
    free = _box(b"free", b"fabric-emulator")
    mdat = _box(b"mdat", hashlib.shake_256(seed.encode("utf-8")).digest(max(0, payload_bytes)))
    return ftyp + free + mdat

"""Incremental Server-Sent Events decoder.

Implements the WHATWG "event stream interpretation" rules (HTML Living Standard,
§9.2.6) over raw bytes, chunk by chunk, so it can sit directly on
``response.iter_bytes()``:

* lines end at CR, LF or CRLF and nowhere else (not at U+2028 and friends, which
  is why we split bytes instead of calling ``str.splitlines``); a CRLF split across
  two chunks counts once;
* one UTF-8 BOM is stripped at the start of the stream; text is decoded as UTF-8
  with ``errors="replace"``;
* ``data`` lines are joined with ``"\\n"``, ``event`` names the type (default
  ``"message"``), ``id`` sets the last event id unless it contains NUL, ``retry``
  is honoured only when it is all ASCII digits; ``:`` starts a comment;
* a blank line dispatches, but never an event whose data buffer is empty; an
  incomplete event at the end of the stream is discarded.

Speed matters here (a run can stream thousands of progress events), so the decoder
works on whole chunks: it cuts each chunk at its last blank line, parses events of
the common shape with one C-level regex match each and sends anything else through
a general line interpreter. Only a chunk containing a CR takes the (still C-level)
normalising step. JSON is parsed lazily, once per event, with orjson when available.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional

from fabric_platform._core.sse_event import DIGITS_AS_ZERO_B, LONG_DIGIT_RUN_B, UNPARSED, ServerSentEvent

__all__ = ["SSEDecoder", "encode_event"]

_BOM = b"\xef\xbb\xbf"
# Event type names are cached per decoder; the bound keeps a hostile stream from
# growing the cache without limit.
_TYPE_CACHE_SIZE = 64
# The shape almost every server sends: optional "id: " and "event: " lines (either
# order), exactly one "data: " line, a blank line. Text is already LF-normalised. An
# id containing NUL does not match, so the general interpreter ignores it as it must.
_CANONICAL = re.compile(
    rb"(?:id: ([^\n\x00]*)\n)?(?:event: ([^\n]*)\n)?(?:id: ([^\n\x00]*)\n)?data: ([^\n]*)\n\n"
)


def _parse_retry(value: bytes) -> Optional[int]:
    """The retry value in ms, or None when the spec says to ignore the field."""
    if not value.isdigit():  # bytes.isdigit() accepts ASCII digits only
        return None
    digits = value.lstrip(b"0") or b"0"
    # More than 15 digits is centuries; ignoring it also keeps int() clear of the
    # interpreter's digit limit, so hostile input cannot make the decoder raise.
    return int(digits) if len(digits) <= 15 else None


_new_event = object.__new__


class SSEDecoder:
    """Turns a byte stream, fed in arbitrary chunks, into :class:`ServerSentEvent` objects.

    The decoder interprets an event only once its terminating blank line has arrived:
    until then the raw lines wait in a buffer. Events come out exactly as the spec's
    line-by-line algorithm would produce them; the one visible difference is timing:
    a ``retry`` line takes effect on :attr:`retry` when its event is complete (or at
    :meth:`close`), not as soon as the line arrives.

    Attributes:
        last_event_id: The last event id string (send it as ``Last-Event-ID`` when
            reconnecting). It survives :meth:`close`, as does :attr:`retry`.
        retry: The latest ``retry`` hint from the server, in milliseconds.
    """

    __slots__ = (
        "_at_start",
        "_bom_head",
        "_id_buffer",
        "_line_start",
        "_pending",
        "_skip_lf",
        "_types",
        "last_event_id",
        "retry",
    )

    def __init__(self) -> None:
        self.last_event_id = ""
        self.retry: Optional[int] = None
        self._types: Dict[bytes, str] = {}
        self._reset_stream()

    def _reset_stream(self) -> None:
        self._at_start = True  # a BOM may still come
        self._bom_head = b""  # the first bytes while we cannot yet tell if they are a BOM
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF is its CRLF tail
        self._line_start = True  # the buffered text ends at a line boundary
        self._pending: List[bytes] = []  # normalised text after the last complete event
        self._id_buffer = self.last_event_id

    def feed(self, chunk: bytes) -> List[ServerSentEvent]:
        """Decode the next piece of the stream.

        Args:
            chunk: Any number of bytes, split anywhere (even inside a CRLF or a
                multi-byte UTF-8 sequence).

        Returns:
            The events completed by this chunk, in stream order (often empty).
        """
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        if self._at_start:
            chunk = self._strip_bom(chunk)
        if not chunk:
            return []
        if b"\r" in chunk:
            # Slow path, still C-level: normalise CRLF and bare CR to LF. A CR at the
            # very end already ends its line; remember to drop a LF that may follow.
            self._skip_lf = chunk[-1] == 0x0D
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        pending = self._pending
        starts_blank = self._line_start and chunk[0] == 0x0A
        self._line_start = chunk[-1] == 0x0A
        if not starts_blank and b"\n\n" not in chunk:
            # No event ends in this chunk: keep it (joining later avoids quadratic copies).
            pending.append(chunk)
            return []
        if pending:
            pending.append(chunk)
            chunk = b"".join(pending)
            self._pending = pending = []
        # Everything up to the last blank line is a run of complete events.
        last = chunk.rfind(b"\n\n")
        cut = last + 2 if last >= 0 else 1  # else: the chunk is one blank line, then text
        if cut < len(chunk):
            pending.append(chunk[cut:])
        return self._events(chunk, cut)

    def close(self) -> List[ServerSentEvent]:
        """Signal the end of the stream.

        An incomplete event (one not yet followed by a blank line) is discarded, as
        the spec requires, though a ``retry`` line in it still counts. The decoder is
        then ready for a new stream (e.g. after a reconnect); :attr:`last_event_id`
        and :attr:`retry` are kept.

        Returns:
            Always ``[]``; it is a list so callers can treat it like :meth:`feed`.
        """
        text = b"".join(self._pending)
        complete = text[: text.rfind(b"\n") + 1]
        if complete:
            # Without a blank line these lines dispatch nothing, but the spec applies
            # ``retry`` as soon as its line is read.
            self._block(complete[:-1].split(b"\n"), dispatch=False)
        self._reset_stream()
        return []

    def _strip_bom(self, chunk: bytes) -> bytes:
        head = self._bom_head + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._bom_head = head  # could still become a BOM
            return b""
        self._at_start = False
        self._bom_head = b""
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _events(self, text: bytes, end: int) -> List[ServerSentEvent]:
        """Interpret ``text[:end]``, a run of complete events ending with a blank line."""
        # The hot loop. Most events have the canonical shape (an id and/or event line,
        # one "data: " line, a blank line), which one C-level regex match parses; any
        # other shape goes through the general line-by-line interpreter.
        out: List[ServerSentEvent] = []
        match = _CANONICAL.match
        types = self._types
        id_buffer = self._id_buffer
        # One scan of the whole run instead of one per event when its JSON is parsed (see
        # ServerSentEvent._parse); conservative: it looks past ``end`` too.
        plain = LONG_DIGIT_RUN_B not in text.translate(DIGITS_AS_ZERO_B)
        pos = 0
        while pos < end:
            m = match(text, pos, end)
            if m is None:
                if text[pos] == 0x0A:
                    # A blank line with no event before it: nothing to dispatch, and the
                    # id it would commit is committed when this run of events ends.
                    pos += 1
                    continue
                stop = text.find(b"\n\n", pos)
                self._id_buffer = id_buffer
                ev = self._block(text[pos:stop].split(b"\n"), dispatch=True)
                id_buffer = self._id_buffer
                if ev is not None:
                    out.append(ev)
                pos = stop + 2
                continue
            first_id, event_type, second_id, raw = m.groups()
            pos = m.end()
            if second_id is not None:
                id_buffer = second_id.decode("utf-8", "replace")
            elif first_id is not None:
                id_buffer = first_id.decode("utf-8", "replace")
            ev = _new_event(ServerSentEvent)
            ev._raw = raw
            ev._data = None
            ev._json = UNPARSED
            ev._plain = plain
            if event_type:
                # A stream reuses a handful of types: decode each one once.
                name = types.get(event_type)
                ev.event = name if name is not None else self._event_name(event_type)
            else:
                ev.event = "message"
            ev.id = id_buffer or None
            ev.retry = None
            out.append(ev)
        self._id_buffer = self.last_event_id = id_buffer
        return out

    def _block(self, lines: List[bytes], *, dispatch: bool) -> Optional[ServerSentEvent]:
        """Interpret one event's non-blank lines; then, if ``dispatch``, act on a blank line."""
        data: List[bytes] = []
        event_type = b""
        retry: Optional[int] = None
        for line in lines:
            name, _, value = line.partition(b":")
            if not name:
                continue  # a comment (keep-alive)
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event_type = value
            elif name == b"id":
                if b"\x00" not in value:
                    self._id_buffer = value.decode("utf-8", "replace")
            elif name == b"retry":
                parsed = _parse_retry(value)
                if parsed is not None:
                    retry = self.retry = parsed
        if not dispatch:
            return None
        self.last_event_id = self._id_buffer
        if not data:
            return None  # no event is dispatched for an empty data buffer
        ev = ServerSentEvent(
            event=self._event_name(event_type) if event_type else "message",
            id=self._id_buffer or None,
            retry=retry,
        )
        ev._raw = b"\n".join(data)
        ev._data = None
        return ev

    def _event_name(self, raw: bytes) -> str:
        name = self._types.get(raw)
        if name is None:
            name = raw.decode("utf-8", "replace")
            if len(self._types) < _TYPE_CACHE_SIZE:
                self._types[raw] = name
        return name


def _check_single_line(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"SSE {name} must not contain CR or LF: {value!r}")


def encode_event(
    *,
    data: str,
    event: Optional[str] = None,
    id: Optional[str] = None,
    retry: Optional[int] = None,
) -> bytes:
    """Serialise one event in the event-stream format (UTF-8, LF line ends).

    Line breaks in ``data`` (CR, LF or CRLF) become separate ``data:`` lines, so the
    decoder gives back ``data`` with its line breaks normalised to ``"\\n"``.

    Args:
        data: The payload text.
        event: The event type; omitted from the output when ``None`` or empty.
        id: The event id; must not contain NUL, CR or LF.
        retry: A reconnection delay hint in milliseconds (>= 0).

    Returns:
        The encoded event, ending with the blank line that dispatches it.

    Raises:
        ValueError: ``event`` or ``id`` cannot be represented on one line, ``id``
            contains NUL (a decoder would ignore it), or ``retry`` is negative.
    """
    # Field order as in the wire contract (id, event, data), which is also the shape
    # the decoder's fast path expects.
    parts: List[str] = []
    if id is not None:
        _check_single_line("id", id)
        if "\x00" in id:
            raise ValueError("SSE id must not contain NUL")
        parts.append(f"id: {id}\n")
    if event:
        _check_single_line("event", event)
        parts.append(f"event: {event}\n")
    if retry is not None:
        if retry < 0:
            raise ValueError(f"SSE retry must be >= 0, got {retry}")
        parts.append(f"retry: {int(retry)}\n")
    normalised = data.replace("\r\n", "\n").replace("\r", "\n")
    parts.extend(f"data: {line}\n" for line in normalised.split("\n"))
    parts.append("\n")
    return "".join(parts).encode("utf-8")

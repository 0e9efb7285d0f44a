"""Property tests for the SSE decoder.

The fast decoder is checked against ``reference_decode``: a deliberately naive,
character-by-character transcription of the WHATWG algorithm, kept here so the two
share no code.
"""

from __future__ import annotations

import json
from typing import List, Optional, Tuple

from hypothesis import example, given, settings
from hypothesis import strategies as st

from fabric_platform._core.sse import SSEDecoder, encode_event
from fabric_platform._core.sse_event import ServerSentEvent

Event = Tuple[str, str, Optional[str], Optional[int]]
Outcome = Tuple[List[Event], str, Optional[int]]


def reference_retry(value: str) -> Optional[int]:
    if not value or not all(c in "0123456789" for c in value):
        return None
    # The decoder's documented cap: more than 15 significant digits is ignored.
    return int(value) if len(value.lstrip("0")) <= 15 else None


def reference_decode(stream: bytes) -> Outcome:
    """Decode a whole stream the way the specification words it."""
    if stream.startswith(b"\xef\xbb\xbf"):
        stream = stream[3:]
    text = stream.decode("utf-8", "replace")
    lines: List[str] = []
    current = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\r":
            lines.append(current)
            current = ""
            if i + 1 < len(text) and text[i + 1] == "\n":
                i += 1
        elif ch == "\n":
            lines.append(current)
            current = ""
        else:
            current += ch
        i += 1
    # ``current`` is an unterminated line: never processed.

    events: List[Event] = []
    data, event_type, id_buffer, last_id = "", "", "", ""
    retry: Optional[int] = None
    event_retry: Optional[int] = None
    for line in lines:
        if line == "":
            last_id = id_buffer
            if data == "":
                event_type, event_retry = "", None
                continue
            if data.endswith("\n"):
                data = data[:-1]
            events.append((event_type or "message", data, last_id or None, event_retry))
            data, event_type, event_retry = "", "", None
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "data":
            data += value + "\n"
        elif name == "event":
            event_type = value
        elif name == "id":
            if "\x00" not in value:
                id_buffer = value
        elif name == "retry" and reference_retry(value) is not None:
            retry = event_retry = reference_retry(value)
    return events, last_id, retry


def as_tuples(events: List[ServerSentEvent]) -> List[Event]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def fast_decode(chunks: List[bytes]) -> Outcome:
    dec = SSEDecoder()
    events: List[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(dec.feed(chunk))
    events.extend(dec.close())
    return as_tuples(events), dec.last_event_id, dec.retry


# Streams built from the pieces that matter to the grammar, so that interesting
# shapes (split CRLF, NUL in ids, comments, BOMs, empty data) come up often. Whole
# lines are in the mix too, so complete well-formed events (the decoder's fast path)
# are frequent.
TOKENS = [
    b"id: 1\nevent: e\ndata: {}\n\n",
    b"id: 2\x003\ndata: x\n\n",
    b"event: f\nid: 3\ndata: y\n\n",
    b"id: 4\nevent: e\nid: 5\ndata: w\n\n",
    b"id: \ndata: v\n\n",
    b"data: z\n\n",
    b"data: x\n",
    b'data: {"kind":"k"}\n',
    b"event: e\n",
    b"id: 7\n",
    b"id: 8\x009\n",
    b"retry: 25\n",
    b": ping\n",
    b"data",
    b"data:",
    b"data: ",
    b"event:",
    b"event: ",
    b"id:",
    b"id: ",
    b"retry:",
    b"retry: ",
    b":",
    b" ",
    b"\n",
    b"\n\n",
    b"\r",
    b"\r\n",
    b"\x00",
    b"0",
    b"42",
    b"x",
    b'{"kind":"a"}',
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xe2\x82",
    "é".encode(),
    "\u2028".encode(),
]
token_streams = st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join)
streams = st.one_of(token_streams, st.binary(max_size=300))


@st.composite
def chunkings(draw: st.DrawFn, data: bytes) -> List[bytes]:
    if draw(st.booleans()):
        # One byte at a time splits every CRLF, BOM and UTF-8 sequence.
        return [data[i : i + 1] for i in range(len(data))]
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


@settings(max_examples=400)
@given(streams)
def test_decoder_matches_the_reference_algorithm(stream: bytes) -> None:
    assert fast_decode([stream]) == reference_decode(stream)


@settings(max_examples=400)
@given(st.data())
def test_any_chunking_gives_the_same_events(data: st.DataObject) -> None:
    stream = data.draw(streams)
    chunks = data.draw(chunkings(stream))
    assert fast_decode(chunks) == fast_decode([stream])


@settings(max_examples=150)
@given(token_streams)
@example(b"data: x\r\ndata: y\r\n\r\n")
@example(b"\xef\xbb\xbfdata: a\n\nid: 1\x002\ndata: b\n\nid: 3\n\n")
@example(b"data: a\r\rdata: b\n\n\rretry: 7\r\n")
def test_every_two_way_split_gives_the_same_events(stream: bytes) -> None:
    whole = fast_decode([stream])
    for cut in range(1, len(stream)):
        assert fast_decode([stream[:cut], stream[cut:]]) == whole, cut


single_line = st.text().filter(lambda s: "\r" not in s and "\n" not in s)
event_ids = single_line.filter(lambda s: "\x00" not in s)


@given(
    st.lists(
        st.tuples(st.text(), st.one_of(st.none(), single_line), st.one_of(st.none(), event_ids)),
        min_size=1,
        max_size=5,
    )
)
def test_encode_then_decode_round_trips(items: List[Tuple[str, Optional[str], Optional[str]]]) -> None:
    stream = b"".join(encode_event(data=d, event=e, id=i) for d, e, i in items)
    expected: List[Event] = []
    last_id = ""
    for d, e, i in items:
        if i is not None:
            last_id = i
        # Line breaks in data come back as "\n": SSE cannot tell CR, LF and CRLF apart.
        expected.append((e or "message", d.replace("\r\n", "\n").replace("\r", "\n"), last_id or None, None))
    assert fast_decode([stream])[0] == expected


@given(st.text().filter(lambda s: "\r" not in s))
def test_data_without_cr_round_trips_exactly(text: str) -> None:
    (event,) = fast_decode([encode_event(data=text)])[0]
    assert event[1] == text


@settings(max_examples=300)
@given(st.data())
def test_arbitrary_bytes_never_raise(data: st.DataObject) -> None:
    stream = data.draw(st.binary(max_size=500))
    dec = SSEDecoder()
    events: List[ServerSentEvent] = []
    for chunk in data.draw(chunkings(stream)):
        events.extend(dec.feed(chunk))
    events.extend(dec.close())
    for ev in events:
        # Every view of an event works; only .json may refuse (with ValueError).
        assert isinstance(ev.data, str) and isinstance(repr(ev), str)
        assert len(ev) == len(list(ev))
        ev.get("kind")
        try:
            _ = ev.json
        except ValueError:
            assert len(ev) == 0


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: beyond 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),  # lone surrogates included: json.dumps escapes them
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=300)
@given(json_values)
@example({"n": 18446744073709551616, "s": "\ud800"})
@example(-(2**70))
def test_event_json_is_what_the_stdlib_reads(value: object) -> None:
    # With or without orjson installed, an event's JSON is exactly what json.loads reads: no
    # integer turned into a float, no valid document refused.
    wire = json.dumps(value)
    expected = json.loads(wire)
    (event,) = SSEDecoder().feed(b"data: " + wire.encode() + b"\n\n")
    # repr, not ==: 2**64 == float(2**64), but one of them lost the digits below.
    assert repr(event.json) == repr(expected)
    assert repr(ServerSentEvent(wire).json) == repr(expected)

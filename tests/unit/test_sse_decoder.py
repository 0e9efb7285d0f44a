"""The SSE decoder against the WHATWG event-stream rules (HTML §9.2.6).

Tests named ``test_spec_*`` replay the examples printed in the specification itself.
"""

from __future__ import annotations

import json
from typing import List, Optional

import pytest

from fabric_platform._core.sse import SSEDecoder, encode_event
from fabric_platform._core.sse_event import ServerSentEvent


def decode(*chunks: bytes, decoder: Optional[SSEDecoder] = None) -> List[ServerSentEvent]:
    """Feed ``chunks`` to a decoder, close the stream, return every event."""
    dec = decoder if decoder is not None else SSEDecoder()
    events: List[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(dec.feed(chunk))
    events.extend(dec.close())
    return events


def summary(events: List[ServerSentEvent]) -> List[tuple]:
    return [(e.event, e.data, e.id) for e in events]


# --- the specification's own examples -------------------------------------------


def test_spec_stock_example_joins_data_lines_with_newlines() -> None:
    events = decode(b"data: YHOO\ndata: +2\ndata: 10\n\n")
    assert summary(events) == [("message", "YHOO\n+2\n10", None)]


def test_spec_first_second_third_example_tracks_last_event_id() -> None:
    stream = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"
    dec = SSEDecoder()
    events = decode(stream, decoder=dec)
    # "id" with no colon resets the id; the third event keeps one of its two spaces.
    assert summary(events) == [
        ("message", "first event", "1"),
        ("message", "second event", None),
        ("message", " third event", None),
    ]
    assert dec.last_event_id == ""


def test_spec_empty_data_example_dispatches_two_events_and_drops_the_unterminated_one() -> None:
    events = decode(b"data\n\ndata\ndata\n\ndata:")
    assert [e.data for e in events] == ["", "\n"]


def test_spec_space_example_data_test_and_data_space_test_are_equal() -> None:
    events = decode(b"data:test\n\ndata: test\n\n")
    assert [e.data for e in events] == ["test", "test"]
    assert events[0] == events[1]


def test_spec_event_types_example() -> None:
    stream = b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n"
    assert [(e.event, e.data) for e in decode(stream)] == [
        ("add", "73857293"),
        ("remove", "2153"),
        ("add", "113411"),
    ]


# --- line endings ---------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_each_line_ending_delimits_lines(eol: bytes) -> None:
    stream = eol.join([b"id: 7", b"event: tick", b"data: a", b"data: b", b"", b""])
    assert summary(decode(stream)) == [("tick", "a\nb", "7")]


def test_mixed_line_endings_in_one_stream() -> None:
    events = decode(b"data: a\r\ndata: b\rdata: c\n\r\n")
    assert [e.data for e in events] == ["a\nb\nc"]


def test_crlf_split_across_chunks_counts_as_one_line_end() -> None:
    # Were the LF counted separately, it would be a blank line and dispatch early.
    events = decode(b"data: a\r", b"\ndata: b\r\n\r\n")
    assert [e.data for e in events] == ["a\nb"]


def test_cr_at_chunk_end_then_cr_is_a_blank_line() -> None:
    events = decode(b"data: a\r", b"\rdata: b\r\r")
    assert [e.data for e in events] == ["a", "b"]


def test_lone_cr_chunks_between_events() -> None:
    events = decode(b"data: x", b"\r", b"\n", b"\r", b"\n", b"data: y\n\n")
    assert [e.data for e in events] == ["x", "y"]


def test_unicode_line_separator_inside_data_is_not_a_line_break() -> None:
    text = "before\u2028after\u2029end\x85\x0b\x0c"
    events = decode(f"data: {text}\n\n".encode())
    assert [e.data for e in events] == [text]


def test_multi_line_data_is_joined_with_lf() -> None:
    events = decode(b'data: {"a":\ndata: 1}\n\n')
    assert events[0].data == '{"a":\n1}'
    assert events[0].json == {"a": 1}


# --- BOM and encoding -----------------------------------------------------------


def test_leading_bom_is_stripped() -> None:
    events = decode(b"\xef\xbb\xbfdata: x\n\n")
    assert [e.data for e in events] == ["x"]


def test_bom_split_across_chunks_is_stripped() -> None:
    events = decode(b"\xef", b"\xbb", b"\xbfdata: x\n\n")
    assert [e.data for e in events] == ["x"]


def test_bom_makes_the_first_field_name_unknown_when_doubled() -> None:
    # Only one BOM is stripped; a second is part of the first line's field name,
    # so that "data" line is ignored and nothing is dispatched.
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n") == []


def test_bom_later_in_the_stream_is_not_stripped() -> None:
    events = decode(b"data: a\n\n", b"\xef\xbb\xbfdata: b\n\ndata: \xef\xbb\xbfc\n\n")
    assert [e.data for e in events] == ["a", "\ufeffc"]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    events = decode(b"data: \xff\xfe ok\n\n")
    assert events[0].data == "\ufffd\ufffd ok"


def test_multibyte_character_split_across_chunks() -> None:
    raw = "data: héllo ☃\n\n".encode()
    cut = raw.index("☃".encode()) + 1
    assert [e.data for e in decode(raw[:cut], raw[cut:])] == ["héllo ☃"]


# --- fields ---------------------------------------------------------------------


def test_id_with_nul_is_ignored() -> None:
    dec = SSEDecoder()
    events = decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", decoder=dec)
    assert [e.id for e in events] == ["1", "1"]
    assert dec.last_event_id == "1"


def test_id_persists_across_events_until_changed() -> None:
    events = decode(b"id: 5\ndata: a\n\ndata: b\n\nid: 6\ndata: c\n\n")
    assert [e.id for e in events] == ["5", "5", "6"]


def test_retry_accepts_ascii_digits_only() -> None:
    dec = SSEDecoder()
    decode(b"retry: 1500\n\n", decoder=dec)
    assert dec.retry == 1500
    for bad in (
        b"retry: 15x\n\n",
        b"retry: -5\n\n",
        b"retry: 1.5\n\n",
        b"retry:\n\n",
        "retry: ١٢\n\n".encode(),
    ):
        decode(bad, decoder=dec)
        assert dec.retry == 1500, bad


def test_retry_is_reported_on_the_event_that_carried_it() -> None:
    events = decode(b"retry: 10\ndata: a\n\ndata: b\n\n")
    assert [e.retry for e in events] == [10, None]


def test_absurdly_long_retry_is_ignored_instead_of_raising() -> None:
    dec = SSEDecoder()
    decode(b"retry: " + b"9" * 5000 + b"\n\n", decoder=dec)
    assert dec.retry is None


def test_retry_in_an_unterminated_event_still_counts_at_close() -> None:
    dec = SSEDecoder()
    assert decode(b"retry: 2500\ndata: never dispatched\n", decoder=dec) == []
    assert dec.retry == 2500


def test_comments_are_ignored() -> None:
    events = decode(b": keep-alive\n\n:\ndata: a\n: inside\ndata: b\n\n")
    assert [e.data for e in events] == ["a\nb"]


def test_field_without_colon_has_empty_value() -> None:
    assert [e.data for e in decode(b"data\ndata\n\n")] == ["\n"]


def test_only_one_leading_space_is_stripped() -> None:
    events = decode(b"event:   spaced\ndata:  two\n\n")
    assert (events[0].event, events[0].data) == ("  spaced", " two")


def test_unknown_fields_and_wrong_case_are_ignored() -> None:
    events = decode(b"Data: no\nfoo: bar\nEvent: x\ndata: yes\n\n")
    assert summary(events) == [("message", "yes", None)]


def test_empty_event_field_means_message() -> None:
    assert decode(b"event:\ndata: x\n\n")[0].event == "message"


def test_event_type_resets_after_each_dispatch() -> None:
    events = decode(b"event: a\ndata: 1\n\ndata: 2\n\n")
    assert [e.event for e in events] == ["a", "message"]


# --- the empty-data rule --------------------------------------------------------


def test_keep_alive_after_id_dispatches_nothing_but_updates_last_event_id() -> None:
    dec = SSEDecoder()
    events = decode(b"id: 41\ndata: a\n\nid: 42\n\n: ping\n\n", decoder=dec)
    assert [e.data for e in events] == ["a"]
    assert dec.last_event_id == "42"


def test_event_line_without_data_dispatches_nothing() -> None:
    assert decode(b"event: x\n\n\n\n") == []


def test_incomplete_event_at_end_of_stream_is_discarded() -> None:
    dec = SSEDecoder()
    events = decode(b"data: done\n\nid: 9\ndata: partial\n", decoder=dec)
    assert [e.data for e in events] == ["done"]
    assert dec.last_event_id == ""  # the id never reached a blank line


def test_event_arrives_only_with_its_blank_line() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: a\n") == []
    assert dec.feed(b"data: b\n") == []
    assert [e.data for e in dec.feed(b"\n")] == ["a\nb"]


def test_partial_event_after_a_complete_one_waits_for_the_next_chunk() -> None:
    dec = SSEDecoder()
    assert [e.data for e in dec.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b")] == ["a"]
    assert [(e.data, e.id) for e in dec.feed(b"c\n\n")] == [("bc", "2")]


def test_close_resets_for_a_new_stream_but_keeps_id_and_retry() -> None:
    dec = SSEDecoder()
    dec.feed(b"retry: 300\nid: 3\ndata: a\n\ndata: half")
    assert dec.close() == []
    events = dec.feed(b"\xef\xbb\xbfdata: b\n\n")
    assert summary(events) == [("message", "b", "3")]
    assert (dec.last_event_id, dec.retry) == ("3", 300)


# --- chunking -------------------------------------------------------------------


def test_byte_at_a_time_equals_whole_stream() -> None:
    stream = b"\xef\xbb\xbfid: 1\r\nevent: e\r\ndata: x\r\n\r\n: c\rdata: y\rdata\r\r" + encode_event(
        data='{"k": "v"}', event="z", id="2"
    )
    whole = decode(stream)
    assert len(whole) == 3
    assert decode(*[stream[i : i + 1] for i in range(len(stream))]) == whole


def test_huge_event_fed_in_small_chunks() -> None:
    payload = "x" * 300_000
    raw = encode_event(data=payload, id="big")
    events = decode(*[raw[i : i + 1000] for i in range(0, len(raw), 1000)])
    assert [(e.data == payload, e.id) for e in events] == [(True, "big")]


# --- ServerSentEvent ------------------------------------------------------------


def test_event_is_a_mapping_over_its_json() -> None:
    body = {"id": "42", "kind": "workflow.run.progress", "data": {"percentage": 50}}
    (ev,) = decode(encode_event(data=json.dumps(body), event="workflow.run.progress", id="42"))
    assert ev["kind"] == "workflow.run.progress"
    assert ev.get("data") == {"percentage": 50}
    assert ev.get("missing", "dflt") == "dflt"
    assert "kind" in ev and "nope" not in ev
    assert sorted(ev) == sorted(body) and len(ev) == 3
    assert dict(ev) == body
    assert ev == body
    with pytest.raises(KeyError):
        ev["nope"]


def test_json_is_parsed_once_and_cached() -> None:
    (ev,) = decode(b'data: {"a": [1]}\n\n')
    assert ev.json is ev.json
    assert ev["a"] is ev.json["a"]


def test_non_json_data_gives_an_empty_mapping_and_json_raises() -> None:
    (ev,) = decode(b"data: not json\n\n")
    assert len(ev) == 0 and ev.get("kind") is None and list(ev) == []
    with pytest.raises(KeyError):
        ev["kind"]
    with pytest.raises(ValueError, match="not valid JSON"):
        _ = ev.json


def test_json_that_is_not_an_object_gives_an_empty_mapping() -> None:
    (ev,) = decode(b"data: [1, 2]\n\n")
    assert ev.json == [1, 2]
    assert len(ev) == 0


def test_invalid_utf8_json_still_parses_via_the_text_path() -> None:
    (ev,) = decode(b'data: {"k": "\xff"}\n\n')
    assert ev["k"] == "\ufffd"


def test_json_beyond_orjson_limits_falls_back_to_stdlib() -> None:
    (ev,) = decode(b'data: {"big": 123456789012345678901234567890, "nan": NaN}\n\n')
    assert ev["big"] == 123456789012345678901234567890


def test_event_equality_and_hash_follow_the_wire_fields() -> None:
    a = ServerSentEvent('{"x":1}', event="t", id="1")
    same = decode(b'id: 1\nevent: t\ndata: {"x":1}\n\n')[0]
    assert a == same and hash(a) == hash(same)
    assert a != ServerSentEvent('{"x":1}', event="t", id="2")
    assert a != ServerSentEvent('{"x":1}', event="u", id="1")
    assert a != 5


def test_repr_is_short() -> None:
    ev = ServerSentEvent("y" * 1000, event="big", id="7")
    text = repr(ev)
    assert text.startswith("ServerSentEvent(event='big', id='7', data='yyy")
    assert len(text) < 120


# --- encode_event ---------------------------------------------------------------


def test_encode_event_wire_format() -> None:
    assert (
        encode_event(data="a\nb", event="e", id="1", retry=5)
        == b"id: 1\nevent: e\nretry: 5\ndata: a\ndata: b\n\n"
    )
    assert encode_event(data="") == b"data: \n\n"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "x", "event": "a\nb"},
        {"data": "x", "id": "1\r"},
        {"data": "x", "id": "1\x002"},
        {"data": "x", "retry": -1},
    ],
)
def test_encode_event_rejects_what_cannot_round_trip(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        encode_event(**kwargs)

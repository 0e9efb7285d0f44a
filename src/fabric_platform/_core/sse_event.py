"""One Server-Sent Event: its fields, and its data as JSON, parsed lazily and only once.

The decoder (``sse``) makes these; a stream's items are these (typed as the spec's
``StreamedEvent``, the same class at runtime). JSON is parsed with orjson when available,
and never differently from the stdlib.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple, Union

try:  # orjson is an optional speed-up (the ``speedups`` extra).
    import orjson

    _fast_loads: Optional[Callable[[Union[bytes, str]], Any]] = orjson.loads
except ImportError:  # pragma: no cover - exercised only without the extra
    _fast_loads = None


__all__ = ["DIGITS_AS_ZERO_B", "LONG_DIGIT_RUN_B", "UNPARSED", "ServerSentEvent"]

# Sentinels for the lazily parsed JSON payload of an event.
UNPARSED: Any = object()
_INVALID: Any = object()
# Shared, never mutated: the Mapping view of an event whose data is not a JSON object.
_EMPTY: Dict[str, Any] = {}
_REPR_DATA_LIMIT = 60
# A run of 19 digits: possibly an integer orjson would turn into a float (see _parse).
# Found by mapping every digit to "0" and looking for 19 zeros: two C passes, where
# re.search(r"[0-9]{19}") tries a match at every position (the "SSE decode" rows).
DIGITS_AS_ZERO_B = bytes.maketrans(b"123456789", b"000000000")
_DIGITS_AS_ZERO_S = str.maketrans("123456789", "000000000")
LONG_DIGIT_RUN_B = b"0" * 19
_LONG_DIGIT_RUN_S = "0" * 19
# json.loads(s) minus its per-call argument checks; same result for str input.
_json_decode = json.JSONDecoder().decode


class ServerSentEvent(Mapping[str, Any]):
    """One dispatched event, readable as a mapping over the JSON object in ``data``.

    ``event["kind"]`` and ``event.get("data")`` read the parsed JSON payload. The JSON
    is parsed on first use and cached. When ``data`` is not JSON, or is JSON but not an
    object, the mapping view is empty (``len(event) == 0``) and only :attr:`json`
    reports the problem.

    Attributes:
        event: The event type (``"message"`` when the stream gave none).
        data: The data lines joined with ``"\\n"``.
        id: The last event id in effect when the event was dispatched (``None`` if unset).
        retry: The ``retry`` hint (ms) carried by this event's own lines, if any.
    """

    # ``_raw`` holds the undecoded data bytes when the event came off the wire: the
    # text is decoded only if someone reads ``data``, and orjson parses the bytes as is.
    __slots__ = ("_data", "_json", "_plain", "_raw", "event", "id", "retry")

    def __init__(
        self,
        data: str = "",
        *,
        event: str = "message",
        id: Optional[str] = None,
        retry: Optional[int] = None,
    ) -> None:
        self._raw: Optional[bytes] = None
        # True when the decoder already knows the data holds no run of 19 digits.
        self._plain = False
        self._data: Optional[str] = data
        self._json: Any = UNPARSED
        self.event = event
        self.id = id
        self.retry = retry

    @property
    def data(self) -> str:
        """The data lines joined with ``"\\n"`` (decoded as UTF-8, errors replaced)."""
        text = self._data
        if text is None:
            raw = self._raw
            text = self._data = raw.decode("utf-8", "replace") if raw is not None else ""
        return text

    @property
    def json(self) -> Any:
        """The parsed JSON value of ``data`` (parsed once, then cached).

        Returns:
            Whatever JSON value ``data`` holds (usually a dict).

        Raises:
            ValueError: ``data`` is not valid JSON.
        """
        value = self._json
        if value is UNPARSED:
            value = self._json = self._parse()
        if value is _INVALID:
            raise ValueError(f"SSE event data is not valid JSON: {self._short_data()}")
        return value

    def _parse(self) -> Any:
        # orjson reads the wire bytes as they are. When it refuses (invalid UTF-8, NaN,
        # escaped lone surrogates) the stdlib decides, so a result never depends on
        # whether the extra is installed. Integers beyond 64 bits orjson (>= 3.10) does
        # not refuse but turns into floats, losing digits: any run of 19 digits goes to
        # the stdlib directly.
        if _fast_loads is not None:
            raw = self._raw
            source: Union[bytes, str]
            if raw is not None:
                source = raw
                long_digits = not self._plain and LONG_DIGIT_RUN_B in raw.translate(DIGITS_AS_ZERO_B)
            else:
                source = self.data
                long_digits = _LONG_DIGIT_RUN_S in source.translate(_DIGITS_AS_ZERO_S)
            if not long_digits:
                try:
                    return _fast_loads(source)
                except ValueError:
                    pass
        text = self._data
        if text is None:
            text = self.data
        try:
            return _json_decode(text)
        except ValueError:
            return _INVALID

    def _mapping(self) -> Dict[str, Any]:
        value = self._json
        if value is UNPARSED:
            value = self._json = self._parse()
        return value if type(value) is dict else _EMPTY

    # __getitem__ and get() repeat _mapping() rather than call it: they are what the seed's
    # event["kind"] and event.get("data") run for every event (the "SSE decode" rows).
    def __getitem__(self, key: str) -> Any:
        value = self._json
        if value is UNPARSED:
            value = self._json = self._parse()
        if type(value) is dict:
            return value[key]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """Return ``self[key]`` if present, else ``default`` (dict semantics)."""
        value = self._json
        if value is UNPARSED:
            value = self._json = self._parse()
        if type(value) is dict:
            return value.get(key, default)
        return default

    def __contains__(self, key: object) -> bool:
        return key in self._mapping()

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def _fields(self) -> Tuple[str, str, Optional[str], Optional[int]]:
        return (self.event, self.data, self.id, self.retry)

    def __eq__(self, other: object) -> bool:
        # Two events are equal when the wire said the same thing; compared with any
        # other mapping (e.g. a dict in a test) an event behaves like its JSON object.
        if isinstance(other, ServerSentEvent):
            return self._fields() == other._fields()
        if isinstance(other, Mapping):
            return self._mapping() == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def _short_data(self) -> str:
        data = self.data
        if len(data) > _REPR_DATA_LIMIT:
            data = data[: _REPR_DATA_LIMIT - 3] + "..."
        return repr(data)

    def __repr__(self) -> str:
        parts = [f"event={self.event!r}"]
        if self.id is not None:
            parts.append(f"id={self.id!r}")
        if self.retry is not None:
            parts.append(f"retry={self.retry}")
        parts.append(f"data={self._short_data()}")
        return f"ServerSentEvent({', '.join(parts)})"

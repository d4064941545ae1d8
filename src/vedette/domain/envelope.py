"""Sentry's envelope wire format (docs/protocol.md, "Envelopes"), parsed the way Relay does.

Pure and bounded: the input is already a capped byte string, and every item is checked against
its own size limit before anything else looks at it. Used at ingest (to validate and
authenticate before the spool) and again by the worker (to process what the spool kept).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

# Items whose payload must be a JSON object (anything else is an invalid item).
JSON_ITEMS = frozenset(
    {"event", "transaction", "session", "sessions", "client_report", "check_in", "span",
     "log", "feedback", "user_report", "trace_metric"}
)  # fmt: skip


# Rate-limit / outcome category of each item type (docs/protocol.md, "Envelope items").
ITEM_CATEGORIES: dict[str, str] = {
    "event": "error",
    "transaction": "transaction",
    "attachment": "attachment",
    "session": "session",
    "sessions": "session",
    "client_report": "internal",
    "check_in": "monitor",
    "span": "span",
    "otel_span": "span",
    "log": "log_item",
    "otel_log": "log_item",
    "otlp_traces": "span",  # an OTLP/HTTP request, spooled by ingest (docs/protocol.md, "OTLP")
    "otlp_logs": "log_item",
    "profile": "profile",
    "profile_chunk": "profile_chunk",
    "feedback": "feedback",
    "user_report": "user_report_v2",
    "replay_event": "replay",
    "replay_recording": "replay",
    "replay_video": "replay",
    "trace_metric": "trace_metric",
    "statsd": "metric_bucket",
    "metric_buckets": "metric_bucket",
}


def item_category(item_type: str) -> str:
    return ITEM_CATEGORIES.get(item_type, "default")


# Written by ingest itself (refused-request outcomes); never accepted from a client.
INTERNAL_OUTCOMES = "vedette_outcomes"


class EnvelopeError(Exception):
    """The envelope cannot be read; the client gets a 400."""


class ItemTooLarge(Exception):
    """An item exceeds its size limit; Relay rejects the whole envelope with 413."""


@dataclass(frozen=True, slots=True)
class Item:
    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        value = self.headers.get("type")
        return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class Envelope:
    headers: dict[str, Any]
    items: tuple[Item, ...]

    @property
    def event_id(self) -> str | None:
        return normalize_event_id(self.headers.get("event_id"))


def normalize_event_id(value: object) -> str | None:
    """32 lowercase hex characters, or None when the value is not an event id."""
    if not isinstance(value, str):
        return None
    candidate = value.replace("-", "").lower()
    if len(candidate) != 32:
        return None
    try:
        int(candidate, 16)
    except ValueError:
        return None
    return candidate


def _read_header(data: bytes, start: int) -> tuple[dict[str, Any], int]:
    """Parse one JSON header line from ``start``; return it and the offset after its newline."""
    end = data.find(b"\n", start)
    line = data[start:] if end == -1 else data[start:end]
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"invalid header JSON at byte {start}") from exc
    if not isinstance(header, dict):
        raise EnvelopeError(f"header at byte {start} is not a JSON object")
    return header, len(data) if end == -1 else end + 1


def parse_envelope(data: bytes, item_limit: Callable[[str], int] | None = None) -> Envelope:
    """Split an envelope into its header and items.

    ``item_limit(type)`` gives the byte cap for an item type; an item over it raises
    ItemTooLarge. Unknown item types are kept: what to do with them is the processor's call.
    """
    if not data.strip():
        raise EnvelopeError("empty envelope")
    headers, pos = _read_header(data, 0)
    items: list[Item] = []
    size = len(data)
    while pos < size:
        # A final newline after the last item is allowed (compared without copying the rest).
        if pos == size - 1 and data[pos] == 0x0A:
            break
        item_headers, pos = _read_header(data, pos)
        item_type = item_headers.get("type")
        if not isinstance(item_type, str) or not item_type:
            raise EnvelopeError("item header without a type")
        length = item_headers.get("length")
        if length is None:
            end = data.find(b"\n", pos)
            end = size if end == -1 else end
            payload = data[pos:end]
            pos = end + 1
        else:
            if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                raise EnvelopeError("item length is not a non-negative integer")
            end = pos + length
            if end > size:
                raise EnvelopeError("item payload shorter than its length header")
            payload = data[pos:end]
            if end < size and data[end : end + 1] != b"\n":
                raise EnvelopeError("item payload not followed by a newline")
            pos = end + 1
        if item_limit is not None and len(payload) > item_limit(item_type):
            raise ItemTooLarge(f"{item_type} item of {len(payload)} bytes exceeds its limit")
        items.append(Item(item_headers, payload))
    return Envelope(headers, tuple(items))


def single_event_envelope(event: Mapping[str, Any], event_id: str) -> bytes:
    """Wrap a legacy /store/ JSON event into a one-item envelope."""
    payload = orjson.dumps(event)
    header = orjson.dumps({"event_id": event_id})
    item_type = "transaction" if event.get("type") == "transaction" else "event"
    item = orjson.dumps({"type": item_type, "length": len(payload)})
    return header + b"\n" + item + b"\n" + payload + b"\n"


def decode_json_object(payload: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


# For OTLP JSON bodies, which OTLP answers 400 when they do not read (envelope items are read by
# the worker alone). Decodes the top level only: nested values are checked for JSON syntax and
# kept as raw bytes. 66 KB cost 0.06 ms and build a few dozen objects; orjson.loads costs 0.3 ms
# and builds (then frees) thousands. msgspec does not check the UTF-8 of the strings it skips,
# so that is checked apart (``isascii`` first: no copy). It still accepts a little more than
# orjson (1e999): the worker's full parse then records such a body as an ``invalid`` outcome.
_JSON_OBJECT_SYNTAX = msgspec.json.Decoder(dict[str, msgspec.Raw])


def is_json_object(payload: bytes) -> bool:
    """Whether ``payload`` is syntactically a JSON object, without building it."""
    try:
        _JSON_OBJECT_SYNTAX.decode(payload)
        if not payload.isascii():
            payload.decode()
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False
    except RecursionError:  # msgspec nests less deeply than orjson: let orjson decide
        return decode_json_object(payload) is not None
    return True


def item_is_valid(item: Item) -> bool:
    """What ingest checks of an item before acknowledging: its type only.

    Its payload is read by the worker, which counts one that does not read (a JSON item that
    is not an object) as an ``invalid`` outcome, as Relay does. Checking a 66 KB event's JSON
    syntax in the request was a third of the event loop's instructions per request.
    """
    return item.type != "integration"


def outcomes_envelope(records: list[dict[str, object]]) -> bytes:
    payload = orjson.dumps({"outcomes": records})
    item = orjson.dumps({"type": INTERNAL_OUTCOMES, "length": len(payload)})
    return b"{}\n" + item + b"\n" + payload + b"\n"

"""Transaction interfaces: spans, measurements and span statuses, plus ``transaction_info``.

Spans and measurements are kept for transactions only; span statuses also serve the trace
context, and any event may name its transaction's source in ``transaction_info``. See
docs/protocol.md, "Transactions and spans", "Span statuses" and "Transaction names".
"""

from __future__ import annotations

from collections.abc import Mapping

from vedette.processing.coerce import (
    field_bool,
    field_float,
    field_int,
    field_str,
    finite_float,
    hex_id,
    lenient_str,
    mapping,
    put,
)
from vedette.processing.interfaces.shapes import MAX_PAIRS, Json, key_value_pairs
from vedette.processing.timestamps import parse_timestamp
from vedette.processing.trim import (
    MESSAGE_CHARS,
    SHORT_CHARS,
    SMALL_BAG,
    SPAN_DATA_BAG,
    SYMBOL_CHARS,
    Notes,
    Path,
    clean_str,
    path_name,
    trim_bag,
    trim_str,
)

MAX_SPANS = 1000
MAX_MEASUREMENTS = 100

SPAN_STATUSES = frozenset(
    {"ok", "cancelled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
     "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
     "aborted", "out_of_range", "unimplemented", "internal_error", "unavailable", "data_loss",
     "unauthenticated"}
)  # fmt: skip
_STATUS_ALIASES = {"unknown_error": "unknown", "canceled": "cancelled", "error": "internal_error"}


def normalize_span_status(value: object, path: Path, notes: Notes) -> str | None:
    if value is None:
        return None
    text = value.strip().lower() if isinstance(value, str) else None
    if text is not None:
        text = _STATUS_ALIASES.get(text, text)
    if text not in SPAN_STATUSES:
        notes.error("invalid_data", path_name(path), value, reason="unknown span status")
        return None
    return text


def normalize_transaction_info(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        return None
    info: Json = {}
    put(info, "source", field_str(raw.get("source"), SHORT_CHARS, (*path, "source"), notes))
    put(info, "original", field_str(raw.get("original"), SYMBOL_CHARS, (*path, "original"), notes))
    if isinstance(raw.get("changes"), list):
        info["changes"] = trim_bag(raw.get("changes"), (*path, "changes"), notes, SMALL_BAG)
    propagations = field_int(raw.get("propagations"), (*path, "propagations"), notes)
    put(info, "propagations", propagations)
    return info


_SPAN_STRINGS = {
    "op": SHORT_CHARS,
    "description": MESSAGE_CHARS,
    "origin": SHORT_CHARS,
    "hash": SHORT_CHARS,
    "kind": SHORT_CHARS,
}


def normalize_spans(value: object, path: Path, notes: Notes) -> list[Json]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        notes.error("invalid_data", path_name(path), value, reason="spans is not a list")
        return []
    if len(value) > MAX_SPANS:
        notes.annotate(path, len=len(value))
    spans: list[Json] = []
    for index, item in enumerate(value[:MAX_SPANS]):
        span = _span(item, (*path, index), notes)
        if span is not None:
            spans.append(span)
    return spans


def _span(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="span is not an object")
        return None
    span: Json = {}
    for key, length in (
        ("trace_id", 32), ("span_id", 16), ("parent_span_id", 16), ("segment_id", 16)
    ):  # fmt: skip
        checked = hex_id(raw.get(key), length)
        if checked is None and raw.get(key) is not None:
            notes.error("invalid_data", path_name((*path, key)), raw.get(key), reason="invalid id")
        put(span, key, checked)
    for key in ("start_timestamp", "timestamp"):
        given = raw.get(key)
        stamp = parse_timestamp(given)
        if stamp is None and given is not None:
            notes.error("invalid_data", path_name((*path, key)), given, reason="invalid timestamp")
        put(span, key, stamp)
    for key, limit in _SPAN_STRINGS.items():
        given = raw.get(key)
        if given is not None:  # (most are absent: no path to build for them)
            put(span, key, field_str(given, limit, (*path, key), notes, strip=False))
    put(span, "status", normalize_span_status(raw.get("status"), (*path, "status"), notes))
    for key in ("same_process_as_parent", "is_segment"):
        put(span, key, field_bool(raw.get(key), (*path, key), notes))
    exclusive = raw.get("exclusive_time")
    if exclusive is not None:
        put(span, "exclusive_time", field_float(exclusive, (*path, "exclusive_time"), notes))
    if isinstance(raw.get("data"), Mapping):
        span["data"] = trim_bag(raw.get("data"), (*path, "data"), notes, SPAN_DATA_BAG)
    tags = _span_tags(raw.get("tags"), (*path, "tags"), notes)
    if tags:
        span["tags"] = tags
    measurements = normalize_measurements(raw.get("measurements"), (*path, "measurements"), notes)
    if measurements:
        span["measurements"] = measurements
    if isinstance(raw.get("links"), list):
        span["links"] = trim_bag(raw.get("links"), (*path, "links"), notes, SMALL_BAG)
    return span


def _span_tags(value: object, path: Path, notes: Notes) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, item in key_value_pairs(value):
        name = lenient_str(key)
        text = lenient_str(item)
        if name and text is not None and len(tags) < MAX_PAIRS:
            tags[name[:SYMBOL_CHARS]] = trim_str(text, SYMBOL_CHARS, (*path, name), notes)
    return tags


def normalize_measurements(value: object, path: Path, notes: Notes) -> dict[str, Json]:
    """``{name: {"value": float, "unit"?: str}}``; entries without a finite value dropped."""
    raw = mapping(value)
    if raw is None:
        return {}
    result: dict[str, Json] = {}
    for key, item in raw.items():
        if len(result) >= MAX_MEASUREMENTS:
            notes.annotate(path, len=len(raw))
            break
        name = clean_str(str(key)).strip()[:SHORT_CHARS]
        entry = mapping(item)
        number = finite_float(entry.get("value")) if entry is not None else None
        if not name or number is None:
            notes.error(
                "invalid_data", path_name((*path, name)), item, reason="invalid measurement"
            )
            continue
        measurement: Json = {"value": number}
        unit = lenient_str(entry.get("unit")) if entry is not None else None
        if unit:
            measurement["unit"] = unit[:SHORT_CHARS]
        result[name] = measurement
    return result

"""Transactions and spans -> rows to store and facts to aggregate.

See docs/protocol.md, "Transactions and spans" and "Span items".

Three inputs, one output shape (``SpanRow`` + ``TransactionFact``):
- a normalised ``transaction`` event: its root span lives in ``contexts.trace``;
- a span v2 container (Node 11's default): a segment span (``is_segment``) plays the
  transaction, its descendants name it in ``sentry.segment.id`` / ``sentry.segment.name``;
- a legacy standalone span: one v1-shaped span with ``segment_id`` / ``is_segment``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from vedette.domain.events import NormalizedEvent
from vedette.domain.performance import SpanRow, TransactionFact, op_category
from vedette.domain.traces import exclusive_times
from vedette.processing.coerce import finite_float, hex_id, lenient_str
from vedette.processing.sql import normalize_sql, span_group
from vedette.processing.timestamps import parse_timestamp

SPAN_V2_CONTENT_TYPE = "application/vnd.sentry.items.span.v2+json"
MAX_CONTAINER_SPANS = 1000
_DESCRIPTION_CHARS = 2000
_NAME_CHARS = 200
MAX_SECS_IN_FUTURE = 60.0
MAX_SECS_IN_PAST = 30 * 24 * 3600.0
MIN_CLOCK_DRIFT = 55 * 60.0

_STATUS_ALIASES = {"unknown_error": "unknown", "canceled": "cancelled", "error": "internal_error"}
_KNOWN_STATUSES = frozenset(
    {"ok", "cancelled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
     "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
     "aborted", "out_of_range", "unimplemented", "internal_error", "unavailable", "data_loss",
     "unauthenticated"}
)  # fmt: skip
# HTTP status -> span status, as the SDKs map them (docs/protocol.md, "Span statuses").
_HTTP_STATUSES = {
    401: "unauthenticated", 403: "permission_denied", 404: "not_found", 409: "already_exists",
    413: "failed_precondition", 429: "resource_exhausted", 499: "cancelled",
    501: "unimplemented", 503: "unavailable", 504: "deadline_exceeded",
}  # fmt: skip
# Attributes of v2 spans not worth keeping per span (the SDK repeats them on every span).
_DROPPED_ATTRIBUTE_PREFIXES = (
    "sentry.sdk.", "sentry.segment.", "sentry.trace_lifecycle", "sentry.release",
    "sentry.environment", "device.", "app.", "culture.", "process.", "thread.",
)  # fmt: skip
_MAX_DATA_KEYS = 24
_NON_SQL_DB_SYSTEMS = frozenset({"redis", "memcached", "mongodb", "elasticsearch"})
_PAGE_OPS = frozenset({"pageload", "navigation"})

_NUMERIC_SEGMENT = re.compile(r"^\d+$")
_UUID_SEGMENT = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_HEX_SEGMENT = re.compile(r"^(?=.*\d)[0-9a-fA-F]{8,}$")


def span_status(value: object, http_status: object = None) -> str:
    """A v1 span status from whatever the SDK sent; v2 ``error`` is refined by the HTTP code."""
    text = value.strip().lower() if isinstance(value, str) else ""
    code = finite_float(http_status)
    if text == "error" and code is not None:
        return http_span_status(int(code))
    text = _STATUS_ALIASES.get(text, text)
    if text in _KNOWN_STATUSES:
        return text
    if code is not None:
        return http_span_status(int(code))
    return "unknown"


def http_span_status(code: int) -> str:
    if 200 <= code < 400:
        return "ok"
    if code in _HTTP_STATUSES:
        return _HTTP_STATUSES[code]
    if 400 <= code < 500:
        return "invalid_argument"
    if code >= 500:
        return "internal_error"
    return "unknown"


def sanitize_transaction_name(name: str, source: str | None) -> str:
    """URL-sourced names carry ids: replace numeric, UUID and hex path segments with ``*``
    before the name becomes a group key (docs/protocol.md, "Transaction names"). Other
    sources are already parametrised."""
    if source != "url":
        return name
    path, sep, query = name.partition("?")
    segments = [
        "*" if _NUMERIC_SEGMENT.match(s) or _UUID_SEGMENT.match(s) or _HEX_SEGMENT.match(s) else s
        for s in path.split("/")
    ]
    return "/".join(segments) + (sep + query if query else "")


def _text(value: object, limit: int) -> str | None:
    text = lenient_str(value)
    return None if text is None or text == "" else text[:limit]


def _db_group(op: str | None, description: str | None, db_system: object) -> tuple[str, str]:
    """(group hash, normalised SQL) of a SQL span, or ("", "") for any other span."""
    category = op_category(op)
    if category != "db" or not description or (op or "").startswith("db.redis"):
        return "", ""
    if isinstance(db_system, str) and db_system.lower() in _NON_SQL_DB_SYSTEMS:
        return "", ""
    normalized = normalize_sql(description)
    return span_group(category, normalized), normalized


# -- v1: transaction events -------------------------------------------------------------------


def transaction_rows(event: NormalizedEvent) -> tuple[TransactionFact, list[SpanRow]]:
    """The fact and the span rows of a normalised, validated transaction event."""
    trace = event["contexts"]["trace"]
    trace_id, root_id = str(trace["trace_id"]), str(trace["span_id"])
    info = event.get("transaction_info")
    source = info.get("source") if isinstance(info, Mapping) else None
    name = sanitize_transaction_name(
        str(event.get("transaction") or "<unlabeled transaction>"), source
    )[:_NAME_CHARS]
    start, end = float(event["start_timestamp"]), float(event["timestamp"])
    data = trace.get("data")
    data = data if isinstance(data, Mapping) else {}
    status = span_status(trace.get("status"), data.get("http.response.status_code"))
    release = _text(event.get("release"), 200)
    environment = _text(event.get("environment"), 64)
    event_id = str(event["event_id"])
    raw_spans = [s for s in event.get("spans") or () if isinstance(s, Mapping)]
    # Relay re-parents spans whose parent is missing onto the root.
    known = {root_id} | {str(s["span_id"]) for s in raw_spans}
    parents = {
        str(s["span_id"]): (
            str(s["parent_span_id"]) if s.get("parent_span_id") in known else root_id
        )
        for s in raw_spans
    }
    exclusive = exclusive_times(
        [(root_id, None, start, end)]
        + [
            (str(s["span_id"]), parents[str(s["span_id"])], s["start_timestamp"], s["timestamp"])
            for s in raw_spans
        ]
    )
    rows = [
        SpanRow(
            trace_id=trace_id,
            span_id=root_id,
            parent_span_id=hex_id(trace.get("parent_span_id"), 16),
            segment_id=root_id,
            event_id=event_id,
            transaction=name,
            op=_text(trace.get("op"), 64),
            description=name,
            status=status,
            start=start,
            duration_ms=(end - start) * 1000.0,
            exclusive_ms=exclusive[root_id],
            is_segment=True,
            release=release,
            environment=environment,
        )
    ]
    for span in raw_spans:
        sid = str(span["span_id"])
        op = _text(span.get("op"), 64)
        description = _text(span.get("description"), _DESCRIPTION_CHARS)
        span_data = span.get("data")
        span_data = span_data if isinstance(span_data, Mapping) else {}
        group, normalized = _db_group(op, description, span_data.get("db.system"))
        s_start, s_end = float(span["start_timestamp"]), float(span["timestamp"])
        rows.append(
            SpanRow(
                trace_id=str(span.get("trace_id") or trace_id),
                span_id=sid,
                parent_span_id=parents[sid],
                segment_id=root_id,
                event_id=event_id,
                transaction=name,
                op=op,
                description=description,
                status=span_status(span.get("status"), span_data.get("http.response.status_code")),
                start=s_start,
                duration_ms=(s_end - s_start) * 1000.0,
                exclusive_ms=exclusive[sid],
                is_segment=False,
                release=release,
                environment=environment,
                group=group or None,
                group_description=normalized or None,
            )
        )
    fact = TransactionFact(
        trace_id=trace_id,
        span_id=root_id,
        name=name,
        environment=environment,
        release=release,
        timestamp=end,
        duration_ms=(end - start) * 1000.0,
        status=status,
    )
    return fact, rows


# -- v2 containers and legacy standalone spans ---------------------------------------------------


@dataclass(slots=True)
class SpanBatch:
    facts: list[TransactionFact] = field(default_factory=list)
    rows: list[SpanRow] = field(default_factory=list)
    invalid: int = 0


def _attribute_values(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    flat: dict[str, Any] = {}
    for key, attr in value.items():
        if isinstance(key, str):
            flat[key] = attr.get("value") if isinstance(attr, Mapping) else attr
    return flat


def _kept_data(attributes: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key in sorted(attributes):
        if key.startswith(_DROPPED_ATTRIBUTE_PREFIXES):
            continue
        value = attributes[key]
        if isinstance(value, str):
            value = value[:_DESCRIPTION_CHARS]
        elif not isinstance(value, int | float | bool):
            continue
        kept[key] = value
        if len(kept) >= _MAX_DATA_KEYS:
            break
    return kept


@dataclass(frozen=True, slots=True)
class _Raw:
    trace_id: str
    span_id: str
    parent: str | None
    segment: str | None
    start: float
    end: float
    is_segment: bool
    name: str | None
    op: str | None
    status: str
    attributes: dict[str, Any]


def _raw_v2(item: Mapping[str, Any]) -> _Raw | None:
    trace_id, span_id = hex_id(item.get("trace_id"), 32), hex_id(item.get("span_id"), 16)
    start = parse_timestamp(item.get("start_timestamp"))
    end = parse_timestamp(item.get("end_timestamp", item.get("timestamp")))
    if trace_id is None or span_id is None or start is None or end is None or start > end:
        return None
    attributes = _attribute_values(item.get("attributes"))
    if not attributes and isinstance(item.get("data"), Mapping):
        attributes = dict(item["data"])  # a legacy v1-shaped span keeps them in "data"
    is_segment = item.get("is_segment") is True
    segment = hex_id(attributes.get("sentry.segment.id") or item.get("segment_id"), 16)
    return _Raw(
        trace_id=trace_id,
        span_id=span_id,
        parent=hex_id(item.get("parent_span_id"), 16),
        segment=span_id if is_segment else segment,
        start=start,
        end=end,
        is_segment=is_segment,
        name=_text(item.get("name") or item.get("description"), _DESCRIPTION_CHARS),
        op=_text(attributes.get("sentry.op") or item.get("op"), 64),
        status=span_status(item.get("status"), attributes.get("http.response.status_code")),
        attributes=attributes,
    )


def _clock_shift(spans: list[_Raw], received: float, sent_at: float | None) -> float:
    """Seconds to add to every span of a container: the SDK's clock drift (``sent_at`` off by
    55 min or more), then the future/past clamp of events (docs/protocol.md, "Timestamps"),
    applied to the container as a whole so that its waterfall keeps its shape."""
    shift = 0.0
    if sent_at is not None and abs(received - sent_at) >= MIN_CLOCK_DRIFT:
        shift = received - sent_at
    latest = max(s.end for s in spans) + shift
    if latest > received + MAX_SECS_IN_FUTURE or latest < received - MAX_SECS_IN_PAST:
        shift += received - latest
    return shift


def _segment_name(span: _Raw) -> str | None:
    attrs = span.attributes
    source = attrs.get("sentry.segment.name.source") or attrs.get("sentry.span.source")
    name = attrs.get("sentry.segment.name") or attrs.get("transaction")
    if span.is_segment:
        name = name or span.name
        # Browser SDKs name every page load "Pageload" (source "url"): the page is the name,
        # as in their transactions.
        if span.op in _PAGE_OPS and source == "url" and isinstance(attrs.get("url.path"), str):
            name = attrs["url.path"]
    if not name:
        return None
    return sanitize_transaction_name(str(name), str(source) if source else None)[:_NAME_CHARS]


def container_rows(
    payload: Mapping[str, Any],
    trace_header: Mapping[str, Any],
    received: float,
    sent_at: float | None,
    legacy: bool = False,
) -> SpanBatch:
    """Rows and segment facts of one span container (or, ``legacy``, of one v1 span item)."""
    batch = SpanBatch()
    items = [payload] if legacy else payload.get("items")
    if not isinstance(items, list):
        batch.invalid += 1
        return batch
    raw: list[_Raw] = []
    for item in items[:MAX_CONTAINER_SPANS]:
        parsed = _raw_v2(item) if isinstance(item, Mapping) else None
        if parsed is None:
            batch.invalid += 1
        else:
            raw.append(parsed)
    batch.invalid += max(0, len(items) - MAX_CONTAINER_SPANS)
    if not raw:
        return batch
    shift = _clock_shift(raw, received, sent_at)
    raw = [replace(s, start=s.start + shift, end=s.end + shift) for s in raw]
    exclusive = exclusive_times([(s.span_id, s.parent, s.start, s.end) for s in raw])
    # Children name their segment but not its name's source: take the (sanitised) name from
    # the segment span when it came along, so both count under one transaction name.
    segment_names = {s.span_id: _segment_name(s) for s in raw if s.is_segment}
    for span in raw:
        attrs = span.attributes
        release = _text(attrs.get("sentry.release") or trace_header.get("release"), 200)
        environment = _text(attrs.get("sentry.environment") or trace_header.get("environment"), 64)
        name = segment_names.get(span.segment or "") or _segment_name(span)
        description = _text(
            attrs.get("db.query.text") or attrs.get("db.statement") or span.name,
            _DESCRIPTION_CHARS,
        )
        group, normalized = _db_group(span.op, description, attrs.get("db.system"))
        batch.rows.append(
            SpanRow(
                trace_id=span.trace_id,
                span_id=span.span_id,
                parent_span_id=span.parent,
                segment_id=span.segment,
                event_id=None,
                transaction=name,
                op=span.op,
                description=description,
                status=span.status,
                start=span.start,
                duration_ms=(span.end - span.start) * 1000.0,
                exclusive_ms=exclusive[span.span_id],
                is_segment=span.is_segment,
                release=release,
                environment=environment,
                group=group or None,
                group_description=normalized or None,
                data=_kept_data(attrs),
            )
        )
        if span.is_segment:
            batch.facts.append(
                TransactionFact(
                    trace_id=span.trace_id,
                    span_id=span.span_id,
                    name=name or "<unlabeled transaction>",
                    environment=environment,
                    release=release,
                    timestamp=span.end,
                    duration_ms=(span.end - span.start) * 1000.0,
                    status=span.status,
                )
            )
    return batch

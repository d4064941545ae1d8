"""Span-only segments as transaction events.

SDKs that stream spans (span v2 containers: JavaScript SDK 11) send no transaction item: the
segment span plays the transaction. So that such a trace is listed, searched and opened like
any transaction (``/events/?type=transaction``, the event page), each segment that arrived
with its spans also becomes a transaction event built from those rows. Its event id is derived
from (trace id, segment span id), so a re-delivered segment is deduplicated like any event,
and the segment's span rows name it as their ``event_id``. See docs/protocol.md, "Span items".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from vedette.domain.performance import SpanRow


def segment_event_id(trace_id: str, segment_id: str) -> str:
    """The event id of a span-only segment: stable across re-deliveries."""
    return hashlib.blake2b(f"{trace_id}:{segment_id}".encode(), digest_size=16).hexdigest()


def _span_json(row: SpanRow) -> dict[str, Any]:
    span = row.event_json()
    if row.data:
        span["data"] = dict(row.data)
    return span


def segment_payload(segment: SpanRow, members: Sequence[SpanRow], event_id: str) -> dict[str, Any]:
    """A transaction payload (before normalisation) of one segment and the spans naming it."""
    trace: dict[str, Any] = {
        "trace_id": segment.trace_id,
        "span_id": segment.span_id,
        "parent_span_id": segment.parent_span_id,
        "op": segment.op,
        "status": segment.status,
        "type": "trace",
    }
    if segment.data:
        trace["data"] = dict(segment.data)
    payload: dict[str, Any] = {
        "event_id": event_id,
        "type": "transaction",
        "transaction": segment.transaction or "<unlabeled transaction>",
        "start_timestamp": segment.start,
        "timestamp": segment.start + segment.duration_ms / 1000.0,
        "contexts": {"trace": trace},
        "spans": [_span_json(m) for m in members if m.span_id != segment.span_id],
    }
    if segment.release:
        payload["release"] = segment.release
    if segment.environment:
        payload["environment"] = segment.environment
    return payload


def _linked(row: SpanRow, event_ids: dict[str, str]) -> SpanRow:
    segment = row.span_id if row.is_segment else row.segment_id
    if row.event_id is not None or segment not in event_ids:
        return row
    return replace(row, segment_id=segment, event_id=event_ids[segment])


def segment_transactions(
    rows: Sequence[SpanRow],
) -> tuple[list[SpanRow], list[dict[str, Any]]]:
    """The rows with each segment's members naming its event, and one payload per segment
    that arrived in ``rows`` (children whose segment came in another envelope stay as they
    are)."""
    event_ids = {r.span_id: segment_event_id(r.trace_id, r.span_id) for r in rows if r.is_segment}
    linked = [_linked(r, event_ids) for r in rows]
    payloads = [
        segment_payload(
            segment,
            [r for r in linked if r.segment_id == segment.span_id],
            event_ids[segment.span_id],
        )
        for segment in linked
        if segment.is_segment and segment.span_id in event_ids
    ]
    return linked, payloads

"""One trace read back: its spans and the error events that happened in it, assembled into
the shape the trace API and the trace page show (spans across every project of the trace)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from vedette.domain.traces import waterfall
from vedette.domain.waterfalls import round_ms
from vedette.storage.codec import unpack
from vedette.storage.schema import events, projects, spans


@dataclass(frozen=True, slots=True)
class StoredSpan:
    project_id: int
    trace_id: str
    span_id: str
    parent_span_id: str | None
    segment_id: str | None
    event_id: str | None
    transaction: str | None
    op: str | None
    description: str | None
    status: str | None
    start: float
    duration_ms: float
    exclusive_ms: float
    is_segment: bool
    release: str | None
    environment: str | None
    data: dict[str, Any]


def trace_spans(
    conn: Connection, project_ids: Sequence[int], trace_id: str, limit: int = 10_000
) -> list[StoredSpan]:
    s = spans
    rows = conn.execute(
        select(s)
        .where(s.c.project_id.in_(project_ids), s.c.trace_id == trace_id)
        .order_by(s.c.start_timestamp, s.c.span_id)
        .limit(limit)
    )
    return [
        StoredSpan(
            project_id=r.project_id,
            trace_id=r.trace_id,
            span_id=r.span_id,
            parent_span_id=r.parent_span_id,
            segment_id=r.segment_id,
            event_id=r.event_id,
            transaction=r.transaction,
            op=r.op,
            description=r.description,
            status=r.status,
            start=r.start_timestamp,
            duration_ms=r.duration,
            exclusive_ms=r.exclusive_time,
            is_segment=bool(r.is_segment),
            release=r.release,
            environment=r.environment,
            data=r.data or {},
        )
        for r in rows
    ]


def organization_project_ids(conn: Connection, project_id: int) -> list[int]:
    """Every project of the project's organisation (a trace crosses services)."""
    org = select(projects.c.organization_id).where(projects.c.id == project_id).scalar_subquery()
    return [
        r.id for r in conn.execute(select(projects.c.id).where(projects.c.organization_id == org))
    ]


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """An error (or performance issue occurrence) of a trace, with the span it happened in."""

    project_id: int
    event_id: str
    group_id: int | None
    type: str
    title: str
    level: str | None
    timestamp: float
    span_id: str | None
    transaction: str | None
    occurrence: dict[str, Any] | None


def trace_events(
    conn: Connection, project_ids: Sequence[int], trace_id: str, limit: int = 1000
) -> list[TraceEvent]:
    e = events
    rows = conn.execute(
        select(e)
        .where(e.c.project_id.in_(project_ids), e.c.trace_id == trace_id, e.c.type != "transaction")
        .order_by(e.c.timestamp, e.c.id)
        .limit(limit)
    )
    found = []
    for r in rows:
        data = unpack(r.data)
        trace = (data.get("contexts") or {}).get("trace") or {}
        span_id = trace.get("span_id") if isinstance(trace, dict) else None
        occurrence = data.get("occurrence")
        found.append(
            TraceEvent(
                project_id=r.project_id,
                event_id=r.event_id,
                group_id=r.group_id,
                type=r.type,
                title=r.title,
                level=r.level,
                timestamp=r.timestamp,
                span_id=span_id if isinstance(span_id, str) else None,
                transaction=r.transaction,
                occurrence=occurrence if isinstance(occurrence, dict) else None,
            )
        )
    return found


def trace_json(
    conn: Connection, project_ids: Sequence[int], trace_id: str
) -> dict[str, Any] | None:
    """Transactions, spans (as a waterfall), errors and performance issues of one trace,
    across the given projects; None when none of them has any of it."""
    spans = trace_spans(conn, project_ids, trace_id)
    found = trace_events(conn, project_ids, trace_id)
    if not spans and not found:
        return None
    links = _EventLinks.of(spans, found)
    return {
        "traceID": trace_id,
        "transactions": [_transaction_json(s, links) for s in links.segments_in_order()],
        "spans": _span_rows(spans, links),
        "errors": [_error_json(e, links) for e in found if not _is_performance_issue(e)],
        "performanceIssues": [_issue_json(e) for e in found if _is_performance_issue(e)],
    }


def _is_performance_issue(event: TraceEvent) -> bool:
    return event.type == "performance" and event.occurrence is not None


@dataclass(frozen=True)
class _EventLinks:
    """Which events happened in which span, and in which transaction (segment)."""

    by_id: dict[str, StoredSpan]
    segments: dict[str, StoredSpan]
    errors_by_span: dict[str, list[str]]
    errors_by_segment: dict[str, list[str]]
    issues_by_segment: dict[str, list[str]]

    @classmethod
    def of(cls, spans: list[StoredSpan], found: list[TraceEvent]) -> _EventLinks:
        links = cls(
            {s.span_id: s for s in spans},
            {s.span_id: s for s in spans if s.is_segment},
            defaultdict(list),
            defaultdict(list),
            defaultdict(list),
        )
        for e in found:
            if _is_performance_issue(e):
                segment_id = _occurrence_segment(e)
                if segment_id is not None:
                    links.issues_by_segment[segment_id].append(e.event_id)
                continue
            segment = links.segment_of(e.span_id)
            if e.span_id is not None:
                links.errors_by_span[e.span_id].append(e.event_id)
            if segment is not None:
                links.errors_by_segment[segment.span_id].append(e.event_id)
        return links

    def segment_of(self, span_id: str | None) -> StoredSpan | None:
        span = self.by_id.get(span_id or "")
        if span is None:
            return None
        return self.segments.get(span.segment_id or "") or (span if span.is_segment else None)

    def segments_in_order(self) -> list[StoredSpan]:
        return sorted(self.segments.values(), key=lambda s: (s.start, s.span_id))


def _occurrence_segment(event: TraceEvent) -> str | None:
    segment_id = (event.occurrence or {}).get("segment_span_id")
    return segment_id if isinstance(segment_id, str) else None


def _issue_json(e: TraceEvent) -> dict[str, Any]:
    occurrence = e.occurrence or {}
    return {
        "eventID": e.event_id,
        "issueID": str(e.group_id) if e.group_id is not None else None,
        "projectID": str(e.project_id),
        "title": e.title,
        "type": occurrence.get("type"),
        "transactionSpanID": _occurrence_segment(e),
        "offenderSpanIDs": (occurrence.get("evidence") or {}).get("offender_span_ids", []),
    }


def _error_json(e: TraceEvent, links: _EventLinks) -> dict[str, Any]:
    segment = links.segment_of(e.span_id)
    return {
        "eventID": e.event_id,
        "issueID": str(e.group_id) if e.group_id is not None else None,
        "projectID": str(e.project_id),
        "title": e.title,
        "level": e.level,
        "timestamp": e.timestamp,
        "spanID": e.span_id,
        "transaction": None
        if segment is None
        else {
            "eventID": segment.event_id,
            "spanID": segment.span_id,
            "transaction": segment.transaction,
        },
    }


def _span_rows(spans: list[StoredSpan], links: _EventLinks) -> list[dict[str, Any]]:
    placed = waterfall([(s.span_id, s.parent_span_id, s.start) for s in spans])
    return [
        {
            "span_id": s.span_id,
            "parent_span_id": s.parent_span_id,
            "segment_id": s.segment_id,
            "eventID": s.event_id,
            "projectID": str(s.project_id),
            "transaction": s.transaction,
            "is_segment": s.is_segment,
            "op": s.op,
            "description": s.description,
            "status": s.status,
            "start_timestamp": s.start,
            "timestamp": s.start + s.duration_ms / 1000.0,
            "duration": round_ms(s.duration_ms),
            "exclusive_time": round_ms(s.exclusive_ms),
            "depth": p.depth,
            "offset": round_ms(p.offset_ms),
            "errors": links.errors_by_span.get(s.span_id, []),
            "data": s.data,
        }
        for p in placed
        for s in (spans[p.index],)
    ]


def _transaction_json(s: StoredSpan, links: _EventLinks) -> dict[str, Any]:
    return {
        "eventID": s.event_id,
        "spanID": s.span_id,
        "projectID": str(s.project_id),
        "transaction": s.transaction,
        "op": s.op,
        "status": s.status,
        "start_timestamp": s.start,
        "timestamp": s.start + s.duration_ms / 1000.0,
        "duration": round_ms(s.duration_ms),
        "release": s.release,
        "environment": s.environment,
        "parentSpanID": s.parent_span_id,
        "errors": links.errors_by_segment.get(s.span_id, []),
        "performanceIssues": links.issues_by_segment.get(s.span_id, []),
    }

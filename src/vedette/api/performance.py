"""Performance, release health and cron monitor endpoints (JSON, Bearer token, Sentry's names).

- ``GET {project}/transactions/``: one row per transaction name (count, tpm, p50..p99,
  failure_rate, apdex), filters ``environment``, ``release``, ``statsPeriod`` or ``start``/``end``
- ``GET {project}/transactions/summary/?transaction=NAME``
- ``GET {project}/events/{event_id}/waterfall/``: the span waterfall of one transaction
- ``GET {project}/traces/{trace_id}/``: transactions, spans and errors of one trace
- ``GET {project}/slow-queries/``, ``GET {project}/releases/``, ``GET {project}/monitors/``,
  ``GET {project}/monitors/{slug}/checkins/``
- ``GET|PUT {project}/transaction-threshold/configure/`` (Apdex T, ms)
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.http import json_object
from vedette.api.serialize import iso as _iso
from vedette.domain import histogram
from vedette.domain.envelope import normalize_event_id
from vedette.domain.traces import exclusive_times, waterfall
from vedette.storage import health, monitors, performance, queries
from vedette.storage.accounts import Project, TokenGrant
from vedette.storage.performance import Stats, Window

if TYPE_CHECKING:
    from vedette.api.routes import Api

_PERIOD = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DEFAULT_PERIOD = "24h"
MAX_PERIOD_SECONDS = 90 * 86400

Handler = Callable[[Request, TokenGrant], Awaitable[Response]]


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def parse_api_time(raw: str) -> float | None:
    """Unix seconds, or an ISO 8601 time (UTC unless it says otherwise)."""
    text = raw.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def stats_json(stats: Stats) -> dict[str, Any]:
    """Unrounded: counts and rates are exact, percentiles carry the histogram's estimate."""
    return {
        "transaction": stats.name,
        "count": stats.count,
        "tpm": stats.tpm,
        "p50": stats.p50,
        "p75": stats.p75,
        "p95": stats.p95,
        "p99": stats.p99,
        "avg": stats.avg,
        "failure_count": stats.failures,
        "failure_rate": stats.failure_rate,
        "apdex": stats.apdex,
    }


class PerformanceEndpoints:
    def __init__(self, api: Api, error: Callable[[int, str], Exception]) -> None:
        self._api = api
        self._error = error

    def routes(
        self, wrap: Callable[[Handler], Callable[[Request], Awaitable[Response]]]
    ) -> list[Route]:
        p = "/api/0/projects/{org}/{project}"
        return [
            Route(f"{p}/transactions/", wrap(self.transactions)),
            Route(f"{p}/transactions/summary/", wrap(self.summary)),
            Route(f"{p}/events/{{event_id}}/waterfall/", wrap(self.event_waterfall)),
            Route(f"{p}/traces/{{trace_id}}/", wrap(self.trace)),
            Route(f"{p}/slow-queries/", wrap(self.slow_queries)),
            Route(f"{p}/releases/", wrap(self.releases)),
            Route(f"{p}/monitors/", wrap(self.monitors)),
            Route(f"{p}/monitors/{{slug}}/checkins/", wrap(self.check_ins)),
            Route(
                f"{p}/transaction-threshold/configure/",
                wrap(self.threshold),
                methods=["GET", "PUT", "POST"],
            ),
        ]

    # -- helpers ------------------------------------------------------------------------------

    def _window(self, request: Request, project: Project) -> Window:
        params = request.query_params
        start_raw, end_raw = params.get("start"), params.get("end")
        if start_raw or end_raw:
            start, end = self._time(start_raw, "start"), self._time(end_raw, "end")
            if start is None or end is None or start >= end:
                raise self._error(400, "start and end must both be given, start before end")
        else:
            found = _PERIOD.match(params.get("statsPeriod", DEFAULT_PERIOD))
            if found is None:
                raise self._error(400, "statsPeriod must look like 24h, 14d, 30m")
            seconds = int(found.group(1)) * _UNIT_SECONDS[found.group(2)]
            if not 0 < seconds <= MAX_PERIOD_SECONDS:
                raise self._error(400, "statsPeriod must be between 1s and 90d")
            end = time.time()
            start = end - seconds
        return Window(
            project_id=project.id,
            start=start,
            end=end,
            environment=params.get("environment"),
            release=params.get("release"),
        )

    def _time(self, raw: str | None, name: str) -> float | None:
        if raw is None:
            return None
        value = parse_api_time(raw)
        if value is None:
            raise self._error(400, f"{name} must be an ISO 8601 time or unix seconds")
        return value

    async def _project(self, request: Request, grant: TokenGrant) -> Project:
        return await self._api._project(request, grant)

    async def _read(self, fn: Callable[[Connection], Any]) -> Any:
        return await self._api._read(fn)

    # -- transactions -------------------------------------------------------------------------

    async def transactions(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._project(request, grant)
        window = self._window(request, project)
        rows = await self._read(lambda c: performance.transaction_stats(c, window))
        return _json([stats_json(s) for s in rows])

    async def summary(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._project(request, grant)
        window = self._window(request, project)
        name = request.query_params.get("transaction")
        if not name:
            raise self._error(400, "transaction is required")
        pair = [r for r in request.query_params.getlist("compareRelease") if r][:2]
        body = await self._read(lambda c: _summary(c, window, name, pair))
        if body is None:
            raise self._error(404, "No such transaction in this period")
        return _json(body)

    async def event_waterfall(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._project(request, grant)
        event_id = normalize_event_id(request.path_params["event_id"])
        event = (
            None
            if event_id is None
            else await self._read(lambda c: queries.get_event(c, project.id, event_id))
        )
        if event is None or event.data.get("type") != "transaction":
            raise self._error(404, "Transaction not found")
        return _json(transaction_waterfall(event.data))

    async def trace(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._project(request, grant)
        trace_id = request.path_params["trace_id"].replace("-", "").lower()
        if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
            raise self._error(404, "Trace not found")

        def load(conn: Connection) -> dict[str, Any] | None:
            # A trace crosses services: every project of the organisation the token may read.
            return trace_json(
                conn, performance.organization_project_ids(conn, project.id), trace_id
            )

        body = await self._read(load)
        if body is None:
            raise self._error(404, "Trace not found")
        return _json(body)

    async def slow_queries(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._project(request, grant)
        window = self._window(request, project)
        rows = await self._read(lambda c: performance.slow_queries(c, window))
        return _json(
            [
                {
                    "group": q.group,
                    "op": q.op,
                    "description": q.description,
                    "count": q.count,
                    "total_time": _round(q.total_ms),
                    "avg": _round(q.avg_ms),
                    "p95": _round(q.p95),
                    "failure_count": q.failures,
                    "example": {
                        "transaction": q.example_transaction,
                        "eventID": q.example_event_id,
                        "traceID": q.example_trace_id,
                        "spanID": q.example_span_id,
                    },
                }
                for q in rows
            ]
        )

    # -- release health -----------------------------------------------------------------------

    async def releases(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._project(request, grant)
        window = self._window(request, project)
        rows = await self._read(
            lambda c: health.release_health(
                c, project.id, window.start, window.end, window.environment
            )
        )
        return _json(
            [
                {
                    "version": r.version,
                    "dateCreated": _iso(r.first_seen),
                    "lastEvent": _iso(r.last_seen),
                    "newGroups": r.new_groups,
                    "healthData": {
                        "totalSessions": r.sessions,
                        "sessionsCrashed": r.sessions_crashed,
                        "sessionsAbnormal": r.sessions_abnormal,
                        "sessionsErrored": r.sessions_errored,
                        "sessionsHealthy": r.sessions_healthy,
                        "totalUsers": r.users,
                        "usersCrashed": r.users_crashed,
                        "crashFreeSessions": _pct(r.crash_free_sessions),
                        "crashFreeUsers": _pct(r.crash_free_users),
                        "adoption": _pct(r.adoption),
                        "durationAvg": _round(r.duration_avg),
                        "stats": {"1h": [[bucket, n] for bucket, n in r.series]},
                    },
                }
                for r in rows
            ]
        )

    # -- cron monitors ------------------------------------------------------------------------

    async def monitors(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._project(request, grant)
        rows = await self._read(lambda c: monitors.list_monitors(c, project.id))
        return _json([_monitor_json(m) for m in rows])

    async def check_ins(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._project(request, grant)
        slug = request.path_params["slug"]

        def load(conn: Connection) -> list[monitors.CheckInRow] | None:
            found = monitors.list_monitors(conn, project.id, slug)
            return monitors.monitor_check_ins(conn, found[0].id) if found else None

        rows = await self._read(load)
        if rows is None:
            raise self._error(404, "Monitor not found")
        return _json([_check_in_json(c) for c in rows])

    async def threshold(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._project(request, grant)
        if request.method in ("PUT", "POST"):
            payload = await json_object(request)
            value = payload.get("threshold")
            metric = payload.get("metric", "duration")
            if metric != "duration" or not isinstance(value, int | float) or value <= 0:
                raise self._error(400, 'expected {"metric": "duration", "threshold": ms > 0}')
            await self._api._write(
                lambda c: performance.set_apdex_threshold(c, project.id, float(value))
            )
        found = await self._read(lambda c: performance.apdex_thresholds(c, [project.id]))
        return _json(
            {"projectId": str(project.id), "metric": "duration", "threshold": found[project.id]}
        )


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _pct(value: float | None) -> float | None:
    """Sentry reports health rates in percent."""
    return None if value is None else round(value * 100, 4)


def _summary(conn: Connection, window: Window, name: str, pair: list[str]) -> dict[str, Any] | None:
    found = performance.transaction_summary(conn, window, name)
    if found is None:
        return None
    stats, counts = found
    middle = (window.start + window.end) / 2
    first = Window(window.project_id, window.start, middle, window.environment, window.release)
    second = Window(window.project_id, middle, window.end, window.environment, window.release)
    releases = pair or performance.recent_releases(conn, window, name)
    release_rows = []
    for version in releases:
        scoped = Window(window.project_id, window.start, window.end, window.environment, version)
        scoped_stats = performance.transaction_stats(conn, scoped, [name], limit=1)
        if scoped_stats:
            release_rows.append(
                {
                    "release": version,
                    **stats_json(scoped_stats[0]),
                    "ops": _ops_per_transaction(conn, scoped, name, scoped_stats[0].count),
                }
            )
    return {
        **stats_json(stats),
        "histogram": [
            {"start": _round(lo), "end": _round(hi), "count": n}
            for lo, hi, n in histogram.coarsen(counts)
        ],
        "slowest": [
            _segment_json(r) for r in performance.transaction_events(conn, window, name, True)
        ],
        "recent": [
            _segment_json(r) for r in performance.transaction_events(conn, window, name, False)
        ],
        "ops": _ops_per_transaction(conn, window, name, stats.count),
        "opsGrown": _ops_grown(conn, first, second, name),
        "releases": release_rows,
    }


def _ops_per_transaction(
    conn: Connection, window: Window, name: str, count: int
) -> list[dict[str, Any]]:
    return [
        {
            "op": o.op,
            "count": o.count,
            "total_time": _round(o.exclusive_ms),
            "avg_per_transaction": _round(o.exclusive_ms / count) if count else None,
        }
        for o in performance.op_times(conn, window, name)
    ]


def _ops_grown(conn: Connection, first: Window, second: Window, name: str) -> list[dict[str, Any]]:
    """Span ops (db, http, ...) whose time per transaction grew from the first half of the
    window to the second, largest growth first."""
    before_count = performance.transaction_count(conn, first, name)
    after_count = performance.transaction_count(conn, second, name)
    if not before_count or not after_count:
        return []
    before = {o.op: o.exclusive_ms / before_count for o in performance.op_times(conn, first, name)}
    after = {o.op: o.exclusive_ms / after_count for o in performance.op_times(conn, second, name)}
    grown = [
        {
            "op": op,
            "before": _round(before.get(op, 0.0)),
            "after": _round(after[op]),
            "change": _round(after[op] - before.get(op, 0.0)),
        }
        for op in after
        if after[op] > before.get(op, 0.0)
    ]
    return sorted(grown, key=lambda g: (-(g["change"] or 0.0), g["op"]))


def _segment_json(row: performance.SegmentRow) -> dict[str, Any]:
    return {
        "eventID": row.event_id,
        "traceID": row.trace_id,
        "spanID": row.span_id,
        "transaction": row.transaction,
        "op": row.op,
        "status": row.status,
        "start_timestamp": row.start,
        "timestamp": row.start + row.duration_ms / 1000.0,
        "duration": _round(row.duration_ms),
        "release": row.release,
        "environment": row.environment,
    }


def transaction_waterfall(event: dict[str, Any]) -> dict[str, Any]:
    """The span waterfall of a stored transaction event: root first, each span after its
    parent, with depth, offset from the transaction start, duration and exclusive time (ms)."""
    trace = (event.get("contexts") or {}).get("trace") or {}
    root_id = str(trace.get("span_id"))
    start, end = float(event["start_timestamp"]), float(event["timestamp"])
    nodes: list[dict[str, Any]] = [
        {
            "span_id": root_id,
            "parent_span_id": None,
            "op": trace.get("op"),
            "description": event.get("transaction"),
            "status": trace.get("status"),
            "start_timestamp": start,
            "timestamp": end,
        }
    ]
    ids = {root_id}
    for span in event.get("spans") or []:
        ids.add(str(span.get("span_id")))
    for span in event.get("spans") or []:
        parent = span.get("parent_span_id")
        nodes.append(
            {
                "span_id": str(span.get("span_id")),
                "parent_span_id": parent if parent in ids else root_id,
                "op": span.get("op"),
                "description": span.get("description"),
                "status": span.get("status"),
                "start_timestamp": float(span["start_timestamp"]),
                "timestamp": float(span["timestamp"]),
                "data": span.get("data"),
            }
        )
    exclusive = exclusive_times(
        [(n["span_id"], n["parent_span_id"], n["start_timestamp"], n["timestamp"]) for n in nodes]
    )
    placed = waterfall([(n["span_id"], n["parent_span_id"], n["start_timestamp"]) for n in nodes])
    rows = []
    for p in placed:
        node = nodes[p.index]
        rows.append(
            {
                **node,
                "depth": p.depth,
                "offset": _round(p.offset_ms),
                "duration": _round((node["timestamp"] - node["start_timestamp"]) * 1000.0),
                "exclusive_time": _round(exclusive[node["span_id"]]),
            }
        )
    return {
        "eventID": event.get("event_id"),
        "transaction": event.get("transaction"),
        "traceID": trace.get("trace_id"),
        "start_timestamp": start,
        "timestamp": end,
        "duration": _round((end - start) * 1000.0),
        "spans": rows,
    }


def trace_json(conn: Connection, project_ids: list[int], trace_id: str) -> dict[str, Any] | None:
    spans = performance.trace_spans(conn, project_ids, trace_id)
    events = performance.trace_events(conn, project_ids, trace_id)
    if not spans and not events:
        return None
    by_id = {s.span_id: s for s in spans}
    segments = {s.span_id: s for s in spans if s.is_segment}

    def segment_of(span_id: str | None) -> performance.StoredSpan | None:
        span = by_id.get(span_id or "")
        if span is None:
            return None
        return segments.get(span.segment_id or "") or (span if span.is_segment else None)

    errors_by_span: dict[str, list[str]] = defaultdict(list)
    errors_by_segment: dict[str, list[str]] = defaultdict(list)
    issues_by_segment: dict[str, list[str]] = defaultdict(list)
    error_rows = []
    issue_rows = []
    for e in events:
        if e.type == "performance" and e.occurrence is not None:
            segment_id = e.occurrence.get("segment_span_id")
            if isinstance(segment_id, str):
                issues_by_segment[segment_id].append(e.event_id)
            issue_rows.append(
                {
                    "eventID": e.event_id,
                    "issueID": str(e.group_id) if e.group_id is not None else None,
                    "projectID": str(e.project_id),
                    "title": e.title,
                    "type": e.occurrence.get("type"),
                    "transactionSpanID": segment_id,
                    "offenderSpanIDs": (e.occurrence.get("evidence") or {}).get(
                        "offender_span_ids", []
                    ),
                }
            )
            continue
        segment = segment_of(e.span_id)
        if e.span_id is not None:
            errors_by_span[e.span_id].append(e.event_id)
        if segment is not None:
            errors_by_segment[segment.span_id].append(e.event_id)
        error_rows.append(
            {
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
        )
    placed = waterfall([(s.span_id, s.parent_span_id, s.start) for s in spans])
    span_rows = []
    for p in placed:
        s = spans[p.index]
        span_rows.append(
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
                "duration": _round(s.duration_ms),
                "exclusive_time": _round(s.exclusive_ms),
                "depth": p.depth,
                "offset": _round(p.offset_ms),
                "errors": errors_by_span.get(s.span_id, []),
                "data": s.data,
            }
        )
    transactions = [
        {
            "eventID": s.event_id,
            "spanID": s.span_id,
            "projectID": str(s.project_id),
            "transaction": s.transaction,
            "op": s.op,
            "status": s.status,
            "start_timestamp": s.start,
            "timestamp": s.start + s.duration_ms / 1000.0,
            "duration": _round(s.duration_ms),
            "release": s.release,
            "environment": s.environment,
            "parentSpanID": s.parent_span_id,
            "errors": errors_by_segment.get(s.span_id, []),
            "performanceIssues": issues_by_segment.get(s.span_id, []),
        }
        for s in sorted(segments.values(), key=lambda x: (x.start, x.span_id))
    ]
    return {
        "traceID": trace_id,
        "transactions": transactions,
        "spans": span_rows,
        "errors": error_rows,
        "performanceIssues": issue_rows,
    }


def _monitor_json(m: monitors.MonitorRow) -> dict[str, Any]:
    schedule = m.schedule
    return {
        "id": str(m.id),
        "slug": m.slug,
        "name": m.slug,
        "status": m.status,
        "dateCreated": _iso(m.created_at),
        "config": {
            "schedule_type": schedule.type if schedule else None,
            "schedule": (
                None
                if schedule is None
                else schedule.value
                if schedule.type == "crontab"
                else [int(schedule.value), schedule.unit]
            ),
            "timezone": schedule.timezone if schedule else None,
            "checkin_margin": m.checkin_margin,
            "max_runtime": m.max_runtime,
            "failure_issue_threshold": m.failure_issue_threshold,
            "recovery_threshold": m.recovery_threshold,
        },
        "lastCheckIn": _iso(m.last_checkin),
        "nextCheckIn": _iso(m.next_checkin),
        "nextCheckInLatest": _iso(m.next_checkin_latest),
        "latestCheckIn": None if m.latest is None else _check_in_json(m.latest),
    }


def _check_in_json(c: monitors.CheckInRow) -> dict[str, Any]:
    return {
        "id": c.guid,
        "status": c.status,
        "dateCreated": _iso(c.date_added),
        "dateUpdated": _iso(c.date_updated),
        "duration": _round(c.duration_ms),
        "expectedTime": _iso(c.expected_time),
        "environment": c.environment,
        "release": c.release,
        "traceID": c.trace_id,
    }

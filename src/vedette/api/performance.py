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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, json_object, json_response
from vedette.api.serialize import iso
from vedette.domain import histogram
from vedette.domain.envelope import normalize_event_id
from vedette.domain.waterfalls import round_ms, transaction_waterfall
from vedette.storage import health, monitors, performance, queries, releases_meta, traces
from vedette.storage.accounts import Project
from vedette.storage.performance_queries import (
    SegmentRow,
    Stats,
    Window,
    op_times,
    recent_releases,
    slow_queries,
    transaction_count,
    transaction_events,
    transaction_stats,
    transaction_summary,
)
from vedette.storage.tokens import TokenGrant

_PERIOD = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DEFAULT_PERIOD = "24h"
MAX_PERIOD_SECONDS = 90 * 86400


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
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        p = "/api/0/projects/{org}/{project}"
        wrap = self._access.wrap
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
                raise ApiError(400, "start and end must both be given, start before end")
        else:
            found = _PERIOD.match(params.get("statsPeriod", DEFAULT_PERIOD))
            if found is None:
                raise ApiError(400, "statsPeriod must look like 24h, 14d, 30m")
            seconds = int(found.group(1)) * _UNIT_SECONDS[found.group(2)]
            if not 0 < seconds <= MAX_PERIOD_SECONDS:
                raise ApiError(400, "statsPeriod must be between 1s and 90d")
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
            raise ApiError(400, f"{name} must be an ISO 8601 time or unix seconds")
        return value

    # -- transactions -------------------------------------------------------------------------

    async def transactions(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        window = self._window(request, project)
        rows = await self._access.read(lambda c: transaction_stats(c, window))
        return json_response([stats_json(s) for s in rows])

    async def summary(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        window = self._window(request, project)
        name = request.query_params.get("transaction")
        if not name:
            raise ApiError(400, "transaction is required")
        pair = [r for r in request.query_params.getlist("compareRelease") if r][:2]
        body = await self._access.read(lambda c: _summary(c, window, name, pair))
        if body is None:
            raise ApiError(404, "No such transaction in this period")
        return json_response(body)

    async def event_waterfall(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        event_id = normalize_event_id(request.path_params["event_id"])
        event = (
            None
            if event_id is None
            else await self._access.read(lambda c: queries.get_event(c, project.id, event_id))
        )
        if event is None or event.data.get("type") != "transaction":
            raise ApiError(404, "Transaction not found")
        return json_response(transaction_waterfall(event.data))

    async def trace(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        trace_id = request.path_params["trace_id"].replace("-", "").lower()
        if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
            raise ApiError(404, "Trace not found")

        def load(conn: Connection) -> dict[str, Any] | None:
            # A trace crosses services: every project of the organisation the token may see.
            visible = [
                pid
                for pid in traces.organization_project_ids(conn, project.id)
                if grant.may_see_project(project.organization_id, pid)
            ]
            return traces.trace_json(conn, visible, trace_id)

        body = await self._access.read(load)
        if body is None:
            raise ApiError(404, "Trace not found")
        return json_response(body)

    async def slow_queries(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        window = self._window(request, project)
        rows = await self._access.read(lambda c: slow_queries(c, window))
        return json_response(
            [
                {
                    "group": q.group,
                    "op": q.op,
                    "description": q.description,
                    "count": q.count,
                    "total_time": round_ms(q.total_ms),
                    "avg": round_ms(q.avg_ms),
                    "p95": round_ms(q.p95),
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
        """Releases with their health over the window, newest events first, then releases made
        with sentry-cli that have no events yet (``sentry-cli releases list`` reads this)."""
        project = await self._access.project(request, grant)
        window = self._window(request, project)

        def load(
            conn: Connection,
        ) -> tuple[list[health.ReleaseHealth], list[releases_meta.ReleaseRow]]:
            health_rows = health.release_health(
                conn, project.id, window.start, window.end, window.environment
            )
            made = releases_meta.list_releases(conn, project.organization_id, project.id, "", 100)
            return health_rows, made

        rows, made = await self._access.read(load)
        released = {m.version: m.date_released for m in made}
        seen = {r.version for r in rows}
        return json_response(
            [_release_health_json(r, released.get(r.version)) for r in rows]
            + [
                {
                    "version": m.version,
                    "dateCreated": iso(m.date_created),
                    "dateReleased": iso(m.date_released),
                    "lastEvent": None,
                    "newGroups": 0,
                    "healthData": None,
                }
                for m in made
                if m.version not in seen
            ]
        )

    # -- cron monitors ------------------------------------------------------------------------

    async def monitors(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        rows = await self._access.read(lambda c: monitors.list_monitors(c, project.id))
        return json_response([_monitor_json(m) for m in rows])

    async def check_ins(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        slug = request.path_params["slug"]

        def load(conn: Connection) -> list[monitors.CheckInRow] | None:
            found = monitors.list_monitors(conn, project.id, slug)
            return monitors.monitor_check_ins(conn, found[0].id) if found else None

        rows = await self._access.read(load)
        if rows is None:
            raise ApiError(404, "Monitor not found")
        return json_response([_check_in_json(c) for c in rows])

    async def threshold(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        if request.method in ("PUT", "POST"):
            payload = await json_object(request)
            value = payload.get("threshold")
            metric = payload.get("metric", "duration")
            if metric != "duration" or not isinstance(value, int | float) or value <= 0:
                raise ApiError(400, 'expected {"metric": "duration", "threshold": ms > 0}')
            await self._access.write(
                lambda c: performance.set_apdex_threshold(c, project.id, float(value))
            )
        found = await self._access.read(lambda c: performance.apdex_thresholds(c, [project.id]))
        return json_response(
            {"projectId": str(project.id), "metric": "duration", "threshold": found[project.id]}
        )


def _pct(value: float | None) -> float | None:
    """Sentry reports health rates in percent."""
    return None if value is None else round(value * 100, 4)


def _summary(conn: Connection, window: Window, name: str, pair: list[str]) -> dict[str, Any] | None:
    found = transaction_summary(conn, window, name)
    if found is None:
        return None
    stats, counts = found
    middle = (window.start + window.end) / 2
    first = Window(window.project_id, window.start, middle, window.environment, window.release)
    second = Window(window.project_id, middle, window.end, window.environment, window.release)
    releases = pair or recent_releases(conn, window, name)
    release_rows = []
    for version in releases:
        scoped = Window(window.project_id, window.start, window.end, window.environment, version)
        scoped_stats = transaction_stats(conn, scoped, [name], limit=1)
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
            {"start": round_ms(lo), "end": round_ms(hi), "count": n}
            for lo, hi, n in histogram.coarsen(counts)
        ],
        "slowest": [_segment_json(r) for r in transaction_events(conn, window, name, True)],
        "recent": [_segment_json(r) for r in transaction_events(conn, window, name, False)],
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
            "total_time": round_ms(o.exclusive_ms),
            "avg_per_transaction": round_ms(o.exclusive_ms / count) if count else None,
        }
        for o in op_times(conn, window, name)
    ]


def _ops_grown(conn: Connection, first: Window, second: Window, name: str) -> list[dict[str, Any]]:
    """Span ops (db, http, ...) whose time per transaction grew from the first half of the
    window to the second, largest growth first."""
    before_count = transaction_count(conn, first, name)
    after_count = transaction_count(conn, second, name)
    if not before_count or not after_count:
        return []
    before = {o.op: o.exclusive_ms / before_count for o in op_times(conn, first, name)}
    after = {o.op: o.exclusive_ms / after_count for o in op_times(conn, second, name)}
    grown = [
        {
            "op": op,
            "before": round_ms(before.get(op, 0.0)),
            "after": round_ms(after[op]),
            "change": round_ms(after[op] - before.get(op, 0.0)),
        }
        for op in after
        if after[op] > before.get(op, 0.0)
    ]
    return sorted(grown, key=lambda g: (-(g["change"] or 0.0), g["op"]))


def _segment_json(row: SegmentRow) -> dict[str, Any]:
    return {
        "eventID": row.event_id,
        "traceID": row.trace_id,
        "spanID": row.span_id,
        "transaction": row.transaction,
        "op": row.op,
        "status": row.status,
        "start_timestamp": row.start,
        "timestamp": row.start + row.duration_ms / 1000.0,
        "duration": round_ms(row.duration_ms),
        "release": row.release,
        "environment": row.environment,
    }


def _monitor_json(m: monitors.MonitorRow) -> dict[str, Any]:
    schedule = m.schedule
    return {
        "id": str(m.id),
        "slug": m.slug,
        "name": m.slug,
        "status": m.status,
        "dateCreated": iso(m.created_at),
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
        "lastCheckIn": iso(m.last_checkin),
        "nextCheckIn": iso(m.next_checkin),
        "nextCheckInLatest": iso(m.next_checkin_latest),
        "latestCheckIn": None if m.latest is None else _check_in_json(m.latest),
    }


def _check_in_json(c: monitors.CheckInRow) -> dict[str, Any]:
    return {
        "id": c.guid,
        "status": c.status,
        "dateCreated": iso(c.date_added),
        "dateUpdated": iso(c.date_updated),
        "duration": round_ms(c.duration_ms),
        "expectedTime": iso(c.expected_time),
        "environment": c.environment,
        "release": c.release,
        "traceID": c.trace_id,
    }


def _release_health_json(row: health.ReleaseHealth, date_released: float | None) -> dict[str, Any]:
    return {
        "version": row.version,
        "dateCreated": iso(row.first_seen),
        "dateReleased": iso(date_released),
        "lastEvent": iso(row.last_seen),
        "newGroups": row.new_groups,
        "healthData": {
            "totalSessions": row.sessions,
            "sessionsCrashed": row.sessions_crashed,
            "sessionsAbnormal": row.sessions_abnormal,
            "sessionsErrored": row.sessions_errored,
            "sessionsHealthy": row.sessions_healthy,
            "totalUsers": row.users,
            "usersCrashed": row.users_crashed,
            "crashFreeSessions": _pct(row.crash_free_sessions),
            "crashFreeUsers": _pct(row.crash_free_users),
            "adoption": _pct(row.adoption),
            "durationAvg": round_ms(row.duration_avg),
            "stats": {"1h": [[bucket, n] for bucket, n in row.series]},
        },
    }

"""Performance pages: transactions, a transaction's summary, one transaction's span waterfall,
a trace, slow queries; and release health and cron monitors.

The numbers come from the same storage functions (and JSON shaping) as the performance API,
so the page and ``/api/0/.../transactions/`` never disagree.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from starlette.responses import Response

from vedette.domain import histogram
from vedette.domain.envelope import normalize_event_id
from vedette.domain.performance import op_category
from vedette.domain.waterfalls import transaction_waterfall
from vedette.storage import (
    health,
    logs,
    monitors,
    performance,
    performance_queries,
    queries,
    releases_meta,
    traces,
)
from vedette.storage.accounts import Project
from vedette.storage.performance_queries import Window
from vedette.web import charts
from vedette.web.core import Page, WebCore, WebError
from vedette.web.event_view import profile_path
from vedette.web.format import duration, project_base
from vedette.web.view_values import pretty

PERIODS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "14d": 14 * 86400, "30d": 30 * 86400}
TRANSACTION_SORTS = {
    "count": "Count",
    "tpm": "TPM",
    "p50": "p50",
    "p95": "p95",
    "failure_rate": "Failure rate",
    "apdex": "Apdex",
}
# Span op categories with a colour of their own in the waterfall (the rest share one).
OP_COLOURS = {"db", "http", "cache", "template", "function", "middleware", "queue", "ui", "file"}


def _window(page: Page, project: Project, default: str = "24h") -> tuple[Window, str]:
    params = page.request.query_params
    period = params.get("period", default)
    period = period if period in PERIODS else default
    end = time.time()
    return (
        Window(
            project_id=project.id,
            start=end - PERIODS[period],
            end=end,
            environment=params.get("environment") or None,
            release=params.get("release") or None,
        ),
        period,
    )


def _filters(page: Page, period: str) -> dict[str, str]:
    params = page.request.query_params
    return {
        "period": period,
        "environment": params.get("environment", ""),
        "release": params.get("release", ""),
    }


async def _filter_values(ui: WebCore, project: Project) -> tuple[list[str], list[str]]:
    def load(conn: Connection) -> tuple[list[str], list[str]]:
        return (
            queries.tag_values(conn, project.id, "environment"),
            [r.version for r in queries.project_releases(conn, project.id)],
        )

    return await ui.read(load)


async def transactions(ui: WebCore, page: Page, project: Project) -> Response:
    window, period = _window(page, project)
    sort = page.request.query_params.get("sort", "count")
    sort = sort if sort in TRANSACTION_SORTS else "count"
    rows = await ui.read(lambda c: performance_queries.transaction_stats(c, window))

    def key(s: performance_queries.Stats) -> float:
        value = getattr(s, sort)
        return -1.0 if value is None else float(value)

    rows.sort(key=key, reverse=sort != "apdex")
    environments, releases = await _filter_values(ui, project)
    return ui.page(
        page,
        "transactions.html",
        project=project,
        section="performance",
        base=project_base(project),
        rows=rows,
        sort=sort,
        sorts=TRANSACTION_SORTS,
        filters=_filters(page, period),
        periods=list(PERIODS),
        environments=environments,
        releases=releases,
    )


@dataclass(frozen=True, slots=True)
class OpShare:
    op: str
    count: int
    total_ms: float
    per_transaction_ms: float | None
    colour: str


def _colour(op: str | None) -> str:
    category = op_category(op)
    return category if category in OP_COLOURS else "other"


async def summary(ui: WebCore, page: Page, project: Project) -> Response:
    window, period = _window(page, project)
    name = page.request.query_params.get("transaction", "")
    if not name:
        raise WebError(400, "Which transaction? (?transaction=NAME)")

    def load(conn: Connection) -> dict[str, Any] | None:
        found = performance_queries.transaction_summary(conn, window, name)
        if found is None:
            return None
        stats, counts = found
        return {
            "stats": stats,
            "histogram": histogram.coarsen(counts),
            "slowest": performance_queries.transaction_events(conn, window, name, True),
            "recent": performance_queries.transaction_events(conn, window, name, False),
            "ops": performance_queries.op_times(conn, window, name),
            "threshold": performance.apdex_thresholds(conn, [project.id])[project.id],
        }

    found = await ui.read(load)
    if found is None:
        raise WebError(404, "No transaction of that name in this period.")
    stats: performance_queries.Stats = found["stats"]
    bins = [(f"{duration(lo)} - {duration(hi)}: {n}", float(n)) for lo, hi, n in found["histogram"]]
    ops = [
        OpShare(
            o.op,
            o.count,
            o.exclusive_ms,
            o.exclusive_ms / stats.count if stats.count else None,
            _colour(o.op),
        )
        for o in found["ops"]
    ]
    return ui.page(
        page,
        "transaction_summary.html",
        project=project,
        section="performance",
        base=project_base(project),
        name=name,
        stats=stats,
        bars=charts.bars(bins, 600, 120, 2),
        bins=found["histogram"],
        slowest=found["slowest"],
        recent=found["recent"],
        ops=ops,
        threshold=found["threshold"],
        filters=_filters(page, period),
        periods=list(PERIODS),
    )


@dataclass(frozen=True, slots=True)
class SpanLine:
    span_id: str
    depth: int
    op: str
    colour: str
    description: str
    is_db: bool
    status: str
    offset_ms: float
    duration_ms: float
    exclusive_ms: float | None
    bar: charts.Segment
    data: str | None
    n_plus_one: bool
    errors: list[str]
    event_id: str | None = None
    transaction: str | None = None


def _span_line(row: dict[str, Any], total_ms: float, offenders: set[str]) -> SpanLine:
    op = row.get("op") or ""
    data = row.get("data")
    description = row.get("description")
    return SpanLine(
        span_id=str(row.get("span_id")),
        depth=min(int(row.get("depth") or 0), 30),
        op=str(op),
        colour=_colour(op),
        description="" if description is None else str(description),
        is_db=op_category(op) == "db",
        status=str(row.get("status") or ""),
        offset_ms=float(row.get("offset") or 0.0),
        duration_ms=float(row.get("duration") or 0.0),
        exclusive_ms=row.get("exclusive_time"),
        bar=charts.segment(
            float(row.get("offset") or 0.0), float(row.get("duration") or 0.0), total_ms
        ),
        data=pretty(data) if data else None,
        n_plus_one=str(row.get("span_id")) in offenders,
        errors=[str(e) for e in row.get("errors") or []],
        event_id=row.get("eventID"),
        transaction=row.get("transaction"),
    )


@dataclass(frozen=True, slots=True)
class PerformanceIssue:
    issue_id: str | None
    title: str
    offenders: set[str]


async def waterfall(ui: WebCore, page: Page, project: Project) -> Response:
    event_id = normalize_event_id(page.request.path_params["event_id"])

    def load(conn: Connection) -> tuple[queries.StoredEvent, list[PerformanceIssue]] | None:
        event = None if event_id is None else queries.get_event(conn, project.id, event_id)
        if event is None or event.data.get("type") != "transaction":
            return None
        trace = (event.data.get("contexts") or {}).get("trace") or {}
        root = trace.get("span_id")
        found = []
        trace_id = trace.get("trace_id")
        if isinstance(trace_id, str):
            for e in traces.trace_events(conn, [project.id], trace_id):
                occurrence = e.occurrence or {}
                if e.type == "performance" and occurrence.get("segment_span_id") == root:
                    evidence = occurrence.get("evidence") or {}
                    found.append(
                        PerformanceIssue(
                            None if e.group_id is None else str(e.group_id),
                            e.title,
                            {str(s) for s in evidence.get("offender_span_ids") or []},
                        )
                    )
        return event, found

    found = await ui.read(load)
    if found is None:
        raise WebError(404, "There is no such transaction in this project.")
    event, issues = found
    body = transaction_waterfall(event.data)
    offenders = set().union(*(i.offenders for i in issues)) if issues else set()
    total = float(body["duration"] or 0.0)
    lines = [_span_line(row, total, offenders) for row in body["spans"]]
    return ui.page(
        page,
        "waterfall.html",
        project=project,
        section="performance",
        base=project_base(project),
        body=body,
        lines=lines,
        issues=issues,
        trace_id=body.get("traceID"),
        profile_path=profile_path(event.data),
        db_count=sum(1 for line in lines if line.is_db),
    )


# The trace page lists this many of its logs, oldest first; the rest are a link away.
_TRACE_LOGS = 100


async def trace(ui: WebCore, page: Page, project: Project) -> Response:
    trace_id = page.request.path_params["trace_id"].replace("-", "").lower()
    if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
        raise WebError(404, "That is not a trace id.")

    def load(conn: Connection) -> tuple[dict[str, Any] | None, list[logs.StoredLog]]:
        # A trace crosses services: the organisation's projects the user may see, as in the API.
        project_ids = [
            pid
            for pid in traces.organization_project_ids(conn, project.id)
            if page.user.may_see_project(project.organization_id, pid)
        ]
        found = traces.trace_json(conn, project_ids, trace_id)
        return found, logs.trace_logs(conn, project_ids, trace_id, limit=_TRACE_LOGS)

    body, log_rows = await ui.read(load)
    if body is None:
        raise WebError(404, "Nothing of this trace is stored.")
    spans = body["spans"]
    start = min((s["start_timestamp"] for s in spans), default=0.0)
    end = max((s["timestamp"] for s in spans), default=0.0)
    total = (end - start) * 1000.0
    offenders = {o for i in body["performanceIssues"] for o in i.get("offenderSpanIDs") or []}
    lines = []
    for s in spans:
        row = {**s, "offset": (s["start_timestamp"] - start) * 1000.0}
        lines.append(_span_line(row, total, offenders))
    return ui.page(
        page,
        "trace.html",
        project=project,
        section="performance",
        base=project_base(project),
        trace_id=trace_id,
        body=body,
        lines=lines,
        total_ms=total,
        log_rows=log_rows,
    )


async def slow_queries(ui: WebCore, page: Page, project: Project) -> Response:
    window, period = _window(page, project)
    rows = await ui.read(lambda c: performance_queries.slow_queries(c, window))
    environments, releases = await _filter_values(ui, project)
    return ui.page(
        page,
        "queries.html",
        project=project,
        section="queries",
        base=project_base(project),
        rows=rows,
        filters=_filters(page, period),
        periods=list(PERIODS),
        environments=environments,
        releases=releases,
    )


async def releases(ui: WebCore, page: Page, project: Project) -> Response:
    window, period = _window(page, project, default="14d")
    rows = await ui.read(
        lambda c: health.release_health(c, project.id, window.start, window.end, window.environment)
    )
    # What sentry-cli recorded: the newest releases with commits, authors and deploys.
    recorded = await ui.read(
        lambda c: releases_meta.project_release_summaries(c, project.id, 20, commits_shown=20)
    )
    return ui.page(
        page,
        "releases.html",
        project=project,
        section="releases",
        base=project_base(project),
        rows=rows,
        recorded=recorded,
        filters=_filters(page, period),
        periods=list(PERIODS),
    )


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    status: str
    label: str


@dataclass(frozen=True, slots=True)
class MonitorLine:
    monitor: monitors.MonitorRow
    ticks: list[Tick]
    check_ins: list[monitors.CheckInRow]


TIMELINE_SLOTS = 30


async def crons(ui: WebCore, page: Page, project: Project) -> Response:
    def load(conn: Connection) -> list[MonitorLine]:
        found = []
        for m in monitors.list_monitors(conn, project.id):
            recent = monitors.monitor_check_ins(conn, m.id, TIMELINE_SLOTS)
            oldest_first = list(reversed(recent))
            ticks = [
                Tick(i * 12.0, c.status, f"{c.status} at {_utc(c.date_added)}")
                for i, c in enumerate(oldest_first)
            ]
            found.append(MonitorLine(m, ticks, recent[:10]))
        return found

    lines = await ui.read(load)
    return ui.page(
        page,
        "crons.html",
        project=project,
        section="crons",
        base=project_base(project),
        lines=lines,
        timeline_width=TIMELINE_SLOTS * 12,
    )


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))

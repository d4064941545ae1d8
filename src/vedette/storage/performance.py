"""Spans and performance aggregates: written with each batch, read by the performance API.

Write side: the spans of a batch are inserted first (deduplicated by (project, trace, span));
only spans that were new feed the per-minute aggregates, so a re-delivered envelope never
counts twice. Aggregates are summed in Python per key, then upserted in key order (PostgreSQL
workers lock rows in the same order: no deadlocks).

Read side: windows are whole minutes; percentiles come from the merged log histograms
(within 0.5 % of exact, see domain/histogram.py); counts, failures and Apdex are exact.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, desc, func, select, true
from sqlalchemy.sql.dml import Insert

from vedette.domain import histogram
from vedette.domain.performance import (
    DEFAULT_APDEX_THRESHOLD_MS,
    SpanRow,
    TransactionFact,
    apdex,
    apdex_class,
    is_failure,
    op_category,
)
from vedette.domain.processed import ProcessedEnvelope
from vedette.storage.dialect import insert_ignore, upsert_add
from vedette.storage.schema import (
    perf_day_histograms,
    perf_days,
    perf_histograms,
    perf_hour_histograms,
    perf_hours,
    perf_minutes,
    perf_op_days,
    perf_op_hours,
    perf_op_minutes,
    projects,
    span_groups,
    spans,
)

TRANSACTION = "transaction"
SPAN = "span"


def minute_of(timestamp: float) -> int:
    return int(timestamp // 60) * 60


@dataclass(frozen=True, slots=True)
class _Period:
    """One resolution of the aggregates: its tables and the name of its time column."""

    totals: Table
    histograms: Table
    ops: Table
    column: str
    seconds: int


MINUTES = _Period(perf_minutes, perf_histograms, perf_op_minutes, "minute", 60)
HOURS = _Period(perf_hours, perf_hour_histograms, perf_op_hours, "hour", 3600)
DAYS = _Period(perf_days, perf_day_histograms, perf_op_days, "day", 86400)
# Largest first: a window takes whole days, then whole hours, then minutes at its edges.
RESOLUTIONS = (DAYS, HOURS, MINUTES)


# -- write side --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Minute:
    count: int = 0
    failures: int = 0
    satisfied: int = 0
    tolerating: int = 0
    duration_sum: float = 0.0
    buckets: dict[int, int] = field(default_factory=dict)


_Key = tuple[int, str, str, int, str, str]  # project, kind, name, minute, environment, release
_OpKey = tuple[int, str, int, str, str, str]  # project, transaction, minute, env, release, op


@dataclass(slots=True)
class Aggregates:
    """What a set of new spans and transactions adds to the aggregates, summed per key.

    Upserting adds, so writing the aggregates of two sets one after the other leaves the same
    rows as writing those of their union (bench/generate.py relies on it to write large chunks).
    """

    minutes: dict[_Key, _Minute] = field(default_factory=lambda: defaultdict(_Minute))
    ops: dict[_OpKey, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0]))
    # Per span group: the example span (the first one met) and the first and last end seen.
    groups: dict[tuple[int, str], SpanRow] = field(default_factory=dict)
    group_bounds: dict[tuple[int, str], list[float]] = field(default_factory=dict)


def store_performance(conn: Connection, batch: Sequence[tuple[int, ProcessedEnvelope]]) -> None:
    unique: dict[tuple[int, str, str], SpanRow] = {}
    for pid, env in batch:
        for row in env.spans:
            unique.setdefault((pid, row.trace_id, row.span_id), row)
    if not unique:
        return
    fresh = _insert_spans(conn, unique)
    facts: list[tuple[int, TransactionFact]] = []
    counted: set[tuple[int, str, str]] = set()
    for pid, env in batch:
        for fact in env.transaction_facts:
            key = (pid, fact.trace_id, fact.span_id)
            if key in fresh and key not in counted:  # a copy in the same batch counts once
                counted.add(key)
                facts.append((pid, fact))
    new_rows = [(key[0], unique[key]) for key in sorted(fresh)]
    thresholds = apdex_thresholds(conn, {pid for pid, _ in facts})
    write_aggregates(conn, aggregate(facts, new_rows, thresholds))


def aggregate(
    facts: Iterable[tuple[int, TransactionFact]],
    new_rows: Iterable[tuple[int, SpanRow]],
    thresholds: dict[int, float],
) -> Aggregates:
    """The aggregates of transactions and spans that were not stored before."""
    found = Aggregates()
    for pid, fact in facts:
        _add(
            found.minutes,
            (
                pid,
                TRANSACTION,
                fact.name,
                minute_of(fact.timestamp),
                fact.environment or "",
                fact.release or "",
            ),
            fact.duration_ms,
            is_failure(fact.status),
            apdex_class(fact.duration_ms, thresholds[pid]),
        )
    for pid, row in new_rows:
        if row.group is not None:
            end = row.end
            bounds = found.group_bounds.setdefault((pid, row.group), [end, end])
            bounds[0], bounds[1] = min(bounds[0], end), max(bounds[1], end)
        if not row.is_segment:
            _add_span(found, pid, row)
    return found


def _add_span(found: Aggregates, pid: int, row: SpanRow) -> None:
    minute = minute_of(row.end)
    environment, release = row.environment or "", row.release or ""
    if row.transaction:
        totals = found.ops[
            (pid, row.transaction, minute, environment, release, op_category(row.op))
        ]
        totals[0] += 1
        totals[1] += row.exclusive_ms
    if row.group is not None:
        _add(
            found.minutes,
            (pid, SPAN, row.group, minute, environment, release),
            row.duration_ms,
            is_failure(row.status),
            None,
        )
        found.groups.setdefault((pid, row.group), row)


def write_aggregates(conn: Connection, found: Aggregates) -> None:
    _upsert_minutes(conn, found.minutes)
    _upsert_ops(conn, found.ops)
    _upsert_groups(conn, found.groups, found.group_bounds)


def _add(
    minutes: dict[_Key, _Minute], key: _Key, duration_ms: float, failed: bool, apdex: str | None
) -> None:
    entry = minutes[key]
    entry.count += 1
    entry.failures += int(failed)
    entry.satisfied += int(apdex == "satisfied")
    entry.tolerating += int(apdex == "tolerating")
    entry.duration_sum += duration_ms
    bucket = histogram.bucket_of(duration_ms)
    entry.buckets[bucket] = entry.buckets.get(bucket, 0) + 1


def _insert_spans(
    conn: Connection, unique: dict[tuple[int, str, str], SpanRow]
) -> set[tuple[int, str, str]]:
    params = [
        span_values(pid, r) for (pid, _, _), r in sorted(unique.items(), key=lambda kv: kv[0])
    ]
    inserted = conn.execute(
        insert_ignore(conn, spans).returning(spans.c.project_id, spans.c.trace_id, spans.c.span_id),
        params,
    ).all()
    return {(r.project_id, r.trace_id, r.span_id) for r in inserted}


def span_values(project_id: int, r: SpanRow) -> dict[str, Any]:
    """The spans table's row for a span."""
    return {
        "project_id": project_id,
        "trace_id": r.trace_id,
        "span_id": r.span_id,
        "parent_span_id": r.parent_span_id,
        "segment_id": r.segment_id,
        "event_id": r.event_id,
        "transaction": r.transaction,
        "op": r.op,
        "description": r.description,
        "span_group": r.group,
        "status": r.status,
        "start_timestamp": r.start,
        "duration": r.duration_ms,
        "exclusive_time": r.exclusive_ms,
        "is_segment": r.is_segment,
        "release": r.release,
        "environment": r.environment,
        "data": r.data or None,
    }


def apdex_thresholds(conn: Connection, project_ids: Iterable[int]) -> dict[int, float]:
    ids = sorted(set(project_ids))
    found: dict[int, float] = dict.fromkeys(ids, DEFAULT_APDEX_THRESHOLD_MS)
    if ids:
        rows = conn.execute(
            select(projects.c.id, projects.c.apdex_threshold).where(projects.c.id.in_(ids))
        )
        found.update({r.id: float(r.apdex_threshold) for r in rows})
    return found


def _upsert_minutes(conn: Connection, minutes: dict[_Key, _Minute]) -> None:
    """Write the minutes, and the same counts rolled up into their hours and days."""
    for period in RESOLUTIONS:
        rolled: dict[_Key, _Minute] = defaultdict(_Minute)
        for (pid, kind, name, minute, env, release), m in minutes.items():
            entry = rolled[(pid, kind, name, minute - minute % period.seconds, env, release)]
            entry.count += m.count
            entry.failures += m.failures
            entry.satisfied += m.satisfied
            entry.tolerating += m.tolerating
            entry.duration_sum += m.duration_sum
            histogram.merge(entry.buckets, m.buckets)
        _upsert_period(conn, period, rolled)


def _upsert_period(conn: Connection, period: _Period, rows: dict[_Key, _Minute]) -> None:
    if not rows:
        return
    keys = sorted(rows)
    names = ("project_id", "kind", "name", period.column, "environment", "release")
    _execute_rows(
        conn,
        upsert_add(
            conn,
            period.totals,
            key=names,
            add=("count", "failures", "satisfied", "tolerating", "duration_sum"),
        ),
        [
            {
                **dict(zip(names, k, strict=True)),
                "count": m.count,
                "failures": m.failures,
                "satisfied": m.satisfied,
                "tolerating": m.tolerating,
                "duration_sum": m.duration_sum,
            }
            for k in keys
            for m in (rows[k],)
        ],
    )
    _execute_rows(
        conn,
        upsert_add(conn, period.histograms, key=(*names, "bucket"), add=("count",)),
        [
            {**dict(zip(names, k, strict=True)), "bucket": b, "count": n}
            for k in keys
            for b, n in sorted(rows[k].buckets.items())
        ],
    )


def _execute_rows(conn: Connection, statement: Insert, rows: list[dict[str, Any]]) -> None:
    """Execute for many rows of plain numbers and strings (no type needs converting).

    On SQLite the rows go to the driver as tuples for a statement compiled once per call:
    SQLAlchemy's per-row parameter processing was half the time of writing aggregates
    (bench/generate.py).
    """
    if conn.dialect.name != "sqlite" or not rows:
        conn.execute(statement, rows)
        return
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(rows[0]))
    order = compiled.positiontup or []
    conn.exec_driver_sql(compiled.string, [tuple(row[name] for name in order) for row in rows])


def _upsert_ops(conn: Connection, ops: dict[_OpKey, list[float]]) -> None:
    """Write the op minutes, and the same sums rolled up into their hours and days."""
    if not ops:
        return
    for period in RESOLUTIONS:
        rolled: dict[_OpKey, list[float]] = defaultdict(lambda: [0, 0.0])
        for (pid, name, minute, env, release, op), (count, exclusive) in ops.items():
            entry = rolled[(pid, name, minute - minute % period.seconds, env, release, op)]
            entry[0] += count
            entry[1] += exclusive
        names = ("project_id", "transaction", period.column, "environment", "release", "op")
        _execute_rows(
            conn,
            upsert_add(conn, period.ops, key=names, add=("count", "exclusive_sum")),
            [
                {**dict(zip(names, k, strict=True)), "count": int(v[0]), "exclusive_sum": v[1]}
                for k, v in sorted(rolled.items())
            ],
        )


def _upsert_groups(
    conn: Connection,
    groups: dict[tuple[int, str], SpanRow],
    bounds: dict[tuple[int, str], list[float]],
) -> None:
    if not groups:
        return
    conn.execute(
        upsert_add(
            conn,
            span_groups,
            key=("project_id", "span_group"),
            add=(),
            greatest_of=("last_seen",),
            least_of=("first_seen",),
        ),
        [
            {
                "project_id": pid,
                "span_group": g,
                "op": r.op or "db",
                "description": r.group_description or "",
                "first_seen": bounds[(pid, g)][0],
                "last_seen": bounds[(pid, g)][1],
                "example_trace_id": r.trace_id,
                "example_span_id": r.span_id,
                "example_event_id": r.event_id,
                "example_transaction": r.transaction,
            }
            for (pid, g), r in sorted(groups.items(), key=lambda kv: kv[0])
        ],
    )


# -- read side ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    project_id: int
    start: float
    end: float
    environment: str | None = None
    release: str | None = None

    @property
    def minutes(self) -> float:
        return max(self.end - self.start, 60.0) / 60.0


@dataclass(frozen=True, slots=True)
class Stats:
    name: str
    count: int
    failures: int
    satisfied: int
    tolerating: int
    duration_sum: float
    p50: float | None
    p75: float | None
    p95: float | None
    p99: float | None
    tpm: float

    @property
    def failure_rate(self) -> float:
        return self.failures / self.count if self.count else 0.0

    @property
    def apdex(self) -> float | None:
        return apdex(self.satisfied, self.tolerating, self.count)

    @property
    def avg(self) -> float | None:
        return self.duration_sum / self.count if self.count else None


def _parts(window: Window) -> list[tuple[_Period, int, int]]:
    """The window's whole minutes as (resolution, from, to) pieces: whole UTC days from the
    daily rollup, whole hours at their edges from the hourly one, the rest from minutes."""
    first = minute_of(window.start)
    end = math.ceil(window.end / 60) * 60  # the minute holding ``end`` counts
    return _split(first, end, RESOLUTIONS)


def _split(lo: int, hi: int, periods: Sequence[_Period]) -> list[tuple[_Period, int, int]]:
    if lo >= hi:
        return []
    period, rest = periods[0], periods[1:]
    if not rest:
        return [(period, lo, hi)]
    whole_from = -(-lo // period.seconds) * period.seconds
    whole_to = hi // period.seconds * period.seconds
    if whole_to <= whole_from:
        return _split(lo, hi, rest)
    return [*_split(lo, whole_from, rest), (period, whole_from, whole_to),
            *_split(whole_to, hi, rest)]  # fmt: skip


def _where(
    table: Table, column: str, window: Window, lo: int, hi: int, kind: str
) -> ColumnElement[bool]:
    clauses = [
        table.c.project_id == window.project_id,
        table.c.kind == kind,
        table.c[column] >= lo,
        table.c[column] < hi,
    ]
    if window.environment is not None:
        clauses.append(table.c.environment == window.environment)
    if window.release is not None:
        clauses.append(table.c.release == window.release)
    return and_(*clauses)


def _histograms(
    conn: Connection, window: Window, kind: str, names: Sequence[str]
) -> dict[str, dict[int, int]]:
    buckets: dict[str, dict[int, int]] = defaultdict(dict)
    for period, lo, hi in _parts(window):
        h = period.histograms
        rows = conn.execute(
            select(h.c.name, h.c.bucket, func.sum(h.c.count))
            .where(_where(h, period.column, window, lo, hi, kind), h.c.name.in_(names))
            .group_by(h.c.name, h.c.bucket)
        )
        for name, bucket, count in rows:
            merged = buckets[name]
            merged[int(bucket)] = merged.get(int(bucket), 0) + int(count)
    return buckets


def _totals(
    conn: Connection, window: Window, kind: str, names: Sequence[str] | None
) -> dict[str, list[float]]:
    """name -> [count, failures, satisfied, tolerating, duration_sum] over the window."""
    totals: dict[str, list[float]] = {}
    for period, lo, hi in _parts(window):
        m = period.totals
        rows = conn.execute(
            select(
                m.c.name,
                func.sum(m.c.count),
                func.sum(m.c.failures),
                func.sum(m.c.satisfied),
                func.sum(m.c.tolerating),
                func.sum(m.c.duration_sum),
            )
            .where(
                _where(m, period.column, window, lo, hi, kind),
                m.c.name.in_(names) if names is not None else true(),
            )
            .group_by(m.c.name)
        )
        for name, *values in rows:
            entry = totals.setdefault(name, [0, 0, 0, 0, 0.0])
            for i, value in enumerate(values):
                entry[i] += value
    return totals


def _stats_row(name: str, values: list[float], buckets: dict[int, int], window: Window) -> Stats:
    count, failures, satisfied, tolerating, duration_sum = values
    p50, p75, p95, p99 = histogram.quantiles(buckets, (0.5, 0.75, 0.95, 0.99))
    return Stats(
        name=name,
        count=int(count),
        failures=int(failures),
        satisfied=int(satisfied),
        tolerating=int(tolerating),
        duration_sum=float(duration_sum),
        p50=p50,
        p75=p75,
        p95=p95,
        p99=p99,
        tpm=int(count) / window.minutes,
    )


def _stats_and_histograms(
    conn: Connection,
    window: Window,
    kind: str,
    names: Sequence[str] | None,
    limit: int,
    order: str = "count",
) -> list[tuple[Stats, dict[int, int]]]:
    totals = _totals(conn, window, kind, names)
    sort_index = 4 if order == "duration_sum" else 0
    top = sorted(totals.items(), key=lambda kv: (-kv[1][sort_index], kv[0]))[:limit]
    if not top:
        return []
    buckets = _histograms(conn, window, kind, [name for name, _ in top])
    return [
        (_stats_row(name, values, buckets[name], window), buckets[name]) for name, values in top
    ]


def _stats(
    conn: Connection, window: Window, kind: str, names: Sequence[str] | None, limit: int
) -> list[Stats]:
    return [s for s, _ in _stats_and_histograms(conn, window, kind, names, limit)]


def nearest_rank_quantile(counts: dict[int, int], q: float) -> float | None:
    """The smallest bucket value that at least ``q`` of the durations do not exceed.

    Unlike the rank ``floor(q * (n - 1))`` of ``histogram.quantiles``, this never reports a
    value that fewer than ``q`` of the durations reach: for three queries of 0.031, 0.037 and
    0.19 ms the p95 is 0.19 ms, not the middle one (which lay below their average).
    """
    ordered = sorted((i, c) for i, c in counts.items() if c > 0)
    total = sum(c for _, c in ordered)
    if total == 0:
        return None
    rank = max(math.ceil(q * total) - 1, 0)
    cumulative = itertools.accumulate(count for _, count in ordered)
    position = next(i for i, seen in enumerate(cumulative) if seen > rank)
    return histogram.bucket_value(ordered[position][0])


def transaction_stats(
    conn: Connection, window: Window, names: Sequence[str] | None = None, limit: int = 100
) -> list[Stats]:
    """One row per transaction name, busiest first."""
    return _stats(conn, window, TRANSACTION, names, limit)


def transaction_summary(
    conn: Connection, window: Window, name: str
) -> tuple[Stats, dict[int, int]] | None:
    """One transaction's stats and the duration histogram its percentiles come from (read
    once: on a large database each read of the histogram rollups is tens of milliseconds)."""
    values = _totals(conn, window, TRANSACTION, [name]).get(name)
    if values is None:
        return None
    buckets = _histograms(conn, window, TRANSACTION, [name])[name]
    return _stats_row(name, values, buckets, window), buckets


def transaction_count(conn: Connection, window: Window, name: str) -> int:
    """How many transactions of this name the window holds (no percentiles read)."""
    values = _totals(conn, window, TRANSACTION, [name]).get(name)
    return 0 if values is None else int(values[0])


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """A transaction (v1 event or v2 segment) as the spans table indexes it."""

    project_id: int
    trace_id: str
    span_id: str
    event_id: str | None
    transaction: str | None
    op: str | None
    status: str | None
    start: float
    duration_ms: float
    release: str | None
    environment: str | None


def _segment(row: Any) -> SegmentRow:
    return SegmentRow(
        project_id=row.project_id,
        trace_id=row.trace_id,
        span_id=row.span_id,
        event_id=row.event_id,
        transaction=row.transaction,
        op=row.op,
        status=row.status,
        start=row.start_timestamp,
        duration_ms=row.duration,
        release=row.release,
        environment=row.environment,
    )


def transaction_events(
    conn: Connection, window: Window, name: str, slowest: bool, limit: int = 10
) -> list[SegmentRow]:
    """The slowest (or most recent) transactions of that name in the window."""
    s = spans
    # The slowest are read from ix_spans_segments_by_duration: "+ 0" keeps SQLite (no table
    # statistics) from taking the window for selective and reading every span of the name
    # through ix_spans_project_transaction_start to sort them (250 ms -> 0.5 ms, 420 k spans).
    start = s.c.start_timestamp + 0 if slowest else s.c.start_timestamp
    clauses = [
        s.c.project_id == window.project_id,
        s.c.transaction == name,
        start >= window.start,
        start < window.end,
        s.c.is_segment.is_(True),
    ]
    if window.environment is not None:
        clauses.append(s.c.environment == window.environment)
    if window.release is not None:
        clauses.append(s.c.release == window.release)
    order = desc(s.c.duration) if slowest else desc(s.c.start_timestamp)
    rows = conn.execute(select(s).where(*clauses).order_by(order, s.c.span_id).limit(limit))
    return [_segment(r) for r in rows]


@dataclass(frozen=True, slots=True)
class OpTime:
    op: str
    count: int
    exclusive_ms: float


def op_times(conn: Connection, window: Window, name: str) -> list[OpTime]:
    """Span count and exclusive time per op category, most time first (whole days and hours
    of the window from the rollups, as ``_stats`` reads them)."""
    totals: dict[str, list[float]] = {}
    for period, lo, hi in _parts(window):
        o = period.ops
        clauses = [
            o.c.project_id == window.project_id,
            o.c.transaction == name,
            o.c[period.column] >= lo,
            o.c[period.column] < hi,
        ]
        if window.environment is not None:
            clauses.append(o.c.environment == window.environment)
        if window.release is not None:
            clauses.append(o.c.release == window.release)
        rows = conn.execute(
            select(o.c.op, func.sum(o.c.count), func.sum(o.c.exclusive_sum))
            .where(*clauses)
            .group_by(o.c.op)
        )
        for op, count, exclusive in rows:
            entry = totals.setdefault(op, [0, 0.0])
            entry[0] += count
            entry[1] += exclusive
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][1], kv[0]))
    return [OpTime(op, int(n), float(ms)) for op, (n, ms) in ranked]


def recent_releases(conn: Connection, window: Window, name: str, limit: int = 2) -> list[str]:
    """Releases that served this transaction in the window, most recently seen first.

    One release at a time, the newest row of a release not found yet: a walk back along the
    name's minutes that stops there, where grouping every minute of the window by release
    took 40 ms at 5 M spans (docs/benchmarks.md). Same order: last minute seen, then name.
    """
    m = perf_minutes
    last = math.ceil(window.end / 60) * 60
    newest = (
        select(m.c.release)
        .where(
            _where(m, "minute", window, minute_of(window.start), last, TRANSACTION),
            m.c.name == name,
            m.c.release != "",
        )
        .order_by(desc(m.c.minute), m.c.release)
        .limit(1)
    )
    found: list[str] = []
    while len(found) < limit:
        release = conn.execute(
            newest.where(m.c.release.not_in(found)) if found else newest
        ).scalar_one_or_none()
        if release is None:
            break
        found.append(release)
    return found


@dataclass(frozen=True, slots=True)
class SlowQuery:
    group: str
    op: str
    description: str
    count: int
    total_ms: float
    avg_ms: float
    p95: float | None
    failures: int
    example_transaction: str | None
    example_event_id: str | None
    example_trace_id: str
    example_span_id: str


def slow_queries(conn: Connection, window: Window, limit: int = 50) -> list[SlowQuery]:
    """db span groups by total time spent, with count, p95 and an example transaction."""
    stats = _stats_and_histograms(conn, window, SPAN, None, limit, order="duration_sum")
    if not stats:
        return []
    g = span_groups
    info = {
        r.span_group: r
        for r in conn.execute(
            select(g).where(
                g.c.project_id == window.project_id,
                g.c.span_group.in_([s.name for s, _ in stats]),
            )
        )
    }
    found = []
    for s, buckets in stats:
        group = info.get(s.name)
        if group is None:
            continue
        found.append(
            SlowQuery(
                group=s.name,
                op=group.op,
                description=group.description,
                count=s.count,
                total_ms=s.duration_sum,
                avg_ms=s.duration_sum / s.count,
                p95=nearest_rank_quantile(buckets, 0.95),
                failures=s.failures,
                example_transaction=group.example_transaction,
                example_event_id=group.example_event_id,
                example_trace_id=group.example_trace_id,
                example_span_id=group.example_span_id,
            )
        )
    return found


def set_apdex_threshold(conn: Connection, project_id: int, threshold_ms: float) -> None:
    conn.execute(
        projects.update().where(projects.c.id == project_id).values(apdex_threshold=threshold_ms)
    )

"""Performance aggregates read back: transaction and span-group stats over a time window.

Windows are whole minutes, read from the daily and hourly rollups where they cover whole days
and hours; percentiles come from the merged log histograms (within 0.5 % of exact, see
domain/histogram.py); counts, failures and Apdex are exact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Subquery,
    Table,
    and_,
    bindparam,
    desc,
    func,
    select,
    true,
    union_all,
)

from vedette.domain import histogram
from vedette.domain.performance import apdex
from vedette.storage.histogram_compaction import merge_packed, packing_of
from vedette.storage.performance import (
    RESOLUTIONS,
    SPAN,
    TRANSACTION,
    Period,
    minute_of,
)
from vedette.storage.schema import (
    perf_minutes,
    span_groups,
    spans,
)


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


def _parts(window: Window) -> list[tuple[Period, int, int]]:
    """The window's whole minutes as (resolution, from, to) pieces: whole UTC days from the
    daily rollup, whole hours at their edges from the hourly one, the rest from minutes."""
    first = minute_of(window.start)
    end = math.ceil(window.end / 60) * 60  # the minute holding ``end`` counts
    return _split(first, end, RESOLUTIONS)


def _split(lo: int, hi: int, periods: Sequence[Period]) -> list[tuple[Period, int, int]]:
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


def _bucket_rows(window: Window, kind: str, names: Sequence[str] | None) -> Subquery | None:
    """(name, bucket, count) rows of these names, or of the name bound as ``name`` when None,
    in every piece of the window (days, hours, minutes at the edges) as one subquery."""
    pieces = []
    for period, lo, hi in _parts(window):
        h = period.histograms
        named = h.c.name == bindparam("name") if names is None else h.c.name.in_(names)
        pieces.append(
            select(h.c.name, h.c.bucket, h.c.count).where(
                _where(h, period.column, window, lo, hi, kind), named
            )
        )
    return union_all(*pieces).subquery() if pieces else None


def _histograms(
    conn: Connection, window: Window, kind: str, names: Sequence[str]
) -> dict[str, dict[int, int]]:
    """Each name's histogram merged over the window's pieces by one GROUP BY.

    At 1 M spans the slow queries' 50 span groups have 287,000 histogram rows in a 14-day
    window, 24,000 (name, bucket) sums once merged. PostgreSQL merges them all in one
    parallel statement. SQLite merges them in a temporary B-tree and took 1.6 to 2.3 times as
    long for all names at once as for one statement per name (about 500 sums each); on
    PostgreSQL, 50 statements cost more than they save over 24 hours (docs/benchmarks.md).
    """
    buckets: dict[str, dict[int, int]] = {name: {} for name in names}
    if conn.dialect.name == "postgresql":
        b = _bucket_rows(window, kind, names)
        if b is not None:
            rows = conn.execute(
                select(b.c.name, b.c.bucket, func.sum(b.c.count)).group_by(b.c.name, b.c.bucket)
            )
            for name, bucket, count in rows:
                buckets[name][int(bucket)] = int(count)
    else:
        b = _bucket_rows(window, kind, None)
        if b is not None:
            merged = select(b.c.bucket, func.sum(b.c.count)).group_by(b.c.bucket)
            for name in names:
                found = conn.execute(merged, {"name": name})
                buckets[name] = {int(bucket): int(count) for bucket, count in found}
    _add_packs(conn, window, kind, buckets)
    return buckets


def _add_packs(
    conn: Connection, window: Window, kind: str, buckets: dict[str, dict[int, int]]
) -> None:
    """Add the packed histograms (storage/histogram_compaction.py) of the window's whole days
    and hours to the detailed rows' sums: without a filter, one pack per name and period for
    all environments and releases; with one, the packs of the matching ones."""
    filtered = window.environment is not None or window.release is not None
    for period, lo, hi in _parts(window):
        packing = packing_of(period.histograms)
        if packing is None:
            continue
        p = packing.packs if filtered else packing.packs_all
        clauses = [
            p.c.project_id == window.project_id,
            p.c.kind == kind,
            p.c.name.in_(list(buckets)),
            p.c[packing.column] >= lo,
            p.c[packing.column] < hi,
        ]
        if window.environment is not None:
            clauses.append(p.c.environment == window.environment)
        if window.release is not None:
            clauses.append(p.c.release == window.release)
        for name, packed in conn.execute(select(p.c.name, p.c.buckets).where(*clauses)):
            merge_packed(buckets[name], packed)


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


# Columns of a ``_totals`` row that the lists rank by.
_COUNT, _DURATION_SUM = 0, 4


def _top(totals: dict[str, list[float]], column: int, limit: int) -> list[tuple[str, list[float]]]:
    """The ``limit`` names with the largest ``column`` of their totals (ties by name)."""
    return sorted(totals.items(), key=lambda kv: (-kv[1][column], kv[0]))[:limit]


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


def _stats(
    conn: Connection, window: Window, kind: str, names: Sequence[str] | None, limit: int
) -> list[Stats]:
    totals = _totals(conn, window, kind, names)
    top = _top(totals, _COUNT, limit)
    if not top:
        return []
    buckets = _histograms(conn, window, kind, [name for name, _ in top])
    return [_stats_row(name, values, buckets[name], window) for name, values in top]


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
    totals = _totals(conn, window, SPAN, None)
    top = _top(totals, _DURATION_SUM, limit)
    if not top:
        return []
    buckets = _histograms(conn, window, SPAN, [name for name, _ in top])
    g = span_groups
    info = {
        r.span_group: r
        for r in conn.execute(
            select(g).where(
                g.c.project_id == window.project_id,
                g.c.span_group.in_([name for name, _ in top]),
            )
        )
    }
    found = []
    for name, (count, failures, _, _, duration_sum) in top:
        group = info.get(name)
        if group is None:
            continue
        found.append(
            SlowQuery(
                group=name,
                op=group.op,
                description=group.description,
                count=int(count),
                total_ms=float(duration_sum),
                avg_ms=float(duration_sum) / int(count),
                p95=nearest_rank_quantile(buckets[name], 0.95),
                failures=int(failures),
                example_transaction=group.example_transaction,
                example_event_id=group.example_event_id,
                example_trace_id=group.example_trace_id,
                example_span_id=group.example_span_id,
            )
        )
    return found

"""Spans and performance aggregates as the worker writes them with each batch (the read side
is performance_queries.py), and the projects' Apdex thresholds the aggregates are classed by.

The spans of a batch are inserted first (deduplicated by (project, trace, span)); only spans
that were new feed the per-minute aggregates, so a re-delivered envelope never counts twice.
Aggregates are summed in Python per key, then upserted in key order (PostgreSQL workers lock
rows in the same order: no deadlocks). Each minute is rolled up into its hour and day as well.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.sql.dml import Insert

from vedette.domain import histogram
from vedette.domain.performance import (
    DEFAULT_APDEX_THRESHOLD_MS,
    SpanRow,
    TransactionFact,
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
class Period:
    """One resolution of the aggregates: its tables and the name of its time column."""

    totals: Table
    histograms: Table
    ops: Table
    column: str
    seconds: int


MINUTES = Period(perf_minutes, perf_histograms, perf_op_minutes, "minute", 60)
HOURS = Period(perf_hours, perf_hour_histograms, perf_op_hours, "hour", 3600)
DAYS = Period(perf_days, perf_day_histograms, perf_op_days, "day", 86400)
# Largest first: a window takes whole days, then whole hours, then minutes at its edges.
RESOLUTIONS = (DAYS, HOURS, MINUTES)


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


def _upsert_period(conn: Connection, period: Period, rows: dict[_Key, _Minute]) -> None:
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


def set_apdex_threshold(conn: Connection, project_id: int, threshold_ms: float) -> None:
    conn.execute(
        projects.update().where(projects.c.id == project_id).values(apdex_threshold=threshold_ms)
    )

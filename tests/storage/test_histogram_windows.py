"""Histograms merged over a window's pieces (whole days, whole hours, minutes at the edges) in
one statement: the slow queries' counts and p95 equal those of the spans the window holds,
whichever pieces it is cut into, on both engines."""

from __future__ import annotations

import pytest

from vedette.domain import histogram
from vedette.domain.performance import SpanRow
from vedette.storage import accounts, performance, performance_queries
from vedette.storage.database import Database
from vedette.storage.performance import minute_of

DAY, HOUR = 86400, 3600
BASE = 1_800_000_000 // DAY * DAY  # a UTC midnight
# A span ending every 37 minutes over three days, two query shapes, varied durations.
SPANS = [(BASE + 37 * 60 * i + 5, f"g{i % 2}", 0.5 + (i * 7919 % 1000) / 10) for i in range(3 * 39)]


def db_span(i: int, end: float, group: str, duration_ms: float) -> SpanRow:
    return SpanRow(
        trace_id=f"{i:032x}", span_id=f"{i:016x}", parent_span_id="b" * 16, segment_id="b" * 16,
        event_id=None, transaction="GET /orders", op="db", description=f"SELECT {group}",
        status="ok", start=end - duration_ms / 1000, duration_ms=duration_ms,
        exclusive_ms=duration_ms, is_segment=False, release=None, environment=None,
        group=group, group_description=f"SELECT {group}",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (BASE + 60, BASE + 2400),  # minutes only
        (BASE + 1800, BASE + 3 * HOUR + 900),  # minutes, hours, minutes
        (BASE + 1800, BASE + 2 * DAY + 5 * HOUR + 120),  # all five pieces
        (BASE, BASE + 2 * DAY),  # whole days
        (BASE - DAY, BASE + 4 * DAY),  # more than every span
    ],
)
def test_slow_queries_count_the_spans_of_the_window(db: Database, start: int, end: int) -> None:
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "shop").id
        rows = [(project, db_span(i, *span)) for i, span in enumerate(SPANS)]
        performance.write_aggregates(conn, performance.aggregate([], rows, {}))
    with db.read() as conn:
        found = performance_queries.slow_queries(
            conn, performance_queries.Window(project, start, end)
        )
    last = -(-end // 60) * 60
    inside = [s for s in SPANS if minute_of(start) <= minute_of(s[0]) < last]
    assert inside, "each window holds spans"
    expected = []
    for group in sorted({g for _, g, _ in inside}):
        durations = [ms for _, g, ms in inside if g == group]
        p95 = performance_queries.nearest_rank_quantile(histogram.histogram_of(durations), 0.95)
        expected.append((sum(durations), group, len(durations), p95))
    expected.sort(key=lambda e: -e[0])
    assert [(q.group, q.count, q.p95) for q in found] == [e[1:] for e in expected]
    assert [q.total_ms for q in found] == pytest.approx([e[0] for e in expected])

"""The slow-queries table's p95: never below what 95 % of the queries reached."""

from __future__ import annotations

import time

import pytest

from vedette.domain.performance import SpanRow
from vedette.storage import accounts, performance, performance_queries
from vedette.storage.database import Database


def db_span(span_id: str, start: float, duration_ms: float) -> SpanRow:
    return SpanRow(
        trace_id="a" * 32, span_id=span_id, parent_span_id="b" * 16, segment_id="b" * 16,
        event_id=None, transaction="GET /orders", op="db", description="SELECT 1",
        status="ok", start=start, duration_ms=duration_ms, exclusive_ms=duration_ms,
        is_segment=False, release=None, environment=None, group="g1",
        group_description="SELECT %s",
    )  # fmt: skip


def test_the_p95_of_three_queries_is_the_slowest(db: Database) -> None:
    now = time.time()
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "shop")
        rows = [
            (project.id, db_span(f"{i:016x}", now - 100 + i, ms))
            for i, ms in enumerate([0.031, 0.037, 0.19])
        ]
        performance.write_aggregates(conn, performance.aggregate([], rows, {}))
    with db.read() as conn:
        [query] = performance_queries.slow_queries(
            conn, performance_queries.Window(project.id, now - 3600, now)
        )
    assert query.count == 3
    assert query.avg_ms == pytest.approx(0.086)
    assert query.p95 == pytest.approx(0.19, rel=0.005)
    assert query.p95 >= query.avg_ms

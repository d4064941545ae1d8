"""N+1 and slow DB queries become issues beside errors: one pattern, one issue."""

from __future__ import annotations

import time

import pytest
from tests.performance.traffic import (
    Span,
    api_client,
    create_project,
    envelope,
    ingest,
    transaction,
)

from vedette.domain.performance import SpanRow, TransactionFact
from vedette.domain.search import parse_search
from vedette.processing.performance_issues import (
    N_PLUS_ONE,
    SLOW_DB_QUERY,
    PerformanceIssueConfig,
    detect,
)
from vedette.storage import queries
from vedette.storage.database import Database

pytestmark = pytest.mark.time_sensitive


def n_plus_one(order_ids: range, query_ms: float = 0.4) -> list[Span]:
    """The ORM's lazy load: one query for the orders, then one per order for its lines."""
    spans = [Span("db", "SELECT id, customer FROM orders LIMIT 20", 1, 2)]
    for k, order_id in enumerate(order_ids):
        spans.append(
            Span(
                "db",
                f"SELECT * FROM order_lines WHERE order_id = {order_id}",
                4 + k * (query_ms + 0.1),
                query_ms,
            )
        )
    return spans


def fixed() -> list[Span]:
    return [
        Span("db", "SELECT id, customer FROM orders LIMIT 20", 1, 2),
        Span("db", "SELECT * FROM order_lines WHERE order_id IN (1, 2, 3, 4, 5, 6)", 4, 3),
    ]


def issues(db: Database, project_id: int) -> list[queries.IssueRow]:
    with db.read() as conn:
        return queries.search_issues(conn, project_id, parse_search(""), limit=100)


def test_an_n_plus_one_pattern_is_one_issue_until_a_release_fixes_it(db: Database) -> None:
    now = time.time()
    project = create_project(db)
    first = [
        envelope(
            (
                "transaction",
                transaction(
                    "GET /orders",
                    now - 600 + i,
                    40,
                    spans=n_plus_one(range(i, i + 6 + i % 3)),
                    release="shop@1.0.0",
                ),
            )
        )
        for i in range(8)
    ]
    ingest(db, project.id, first, received=now)
    ingest(db, project.id, first[:3], received=now)  # re-delivery adds nothing
    found = issues(db, project.id)
    assert len(found) == 1
    issue = found[0]
    assert issue.type == N_PLUS_ONE
    assert issue.title == "N+1 Query"
    assert issue.culprit == "GET /orders"
    assert issue.times_seen == 8
    assert issue.metadata["value"] == "SELECT * FROM order_lines WHERE order_id = %s"
    assert len(issue.metadata["offender_span_ids"]) in (6, 7, 8)

    # The stored occurrence names the offending spans, which are the repeated queries.
    with db.read() as conn:
        event = queries.issue_events(conn, issue.id, limit=1)[0].data
    offenders = event["occurrence"]["evidence"]["offender_span_ids"]
    described = {s["span_id"]: s["description"] for s in event["spans"]}
    assert len(offenders) >= 6
    assert all(described[o].startswith("SELECT * FROM order_lines") for o in offenders)

    # 1.1.0 loads the lines with one IN query: the issue stops growing, and no new one appears.
    later = [
        envelope(
            (
                "transaction",
                transaction("GET /orders", now - 300 + i, 12, spans=fixed(), release="shop@1.1.0"),
            )
        )
        for i in range(10)
    ]
    ingest(db, project.id, later, received=now)
    found = issues(db, project.id)
    assert [(i.id, i.times_seen, i.last_release) for i in found] == [(issue.id, 8, "shop@1.0.0")]
    # A different endpoint with the same loop is a different pattern.
    ingest(
        db,
        project.id,
        [
            envelope(
                (
                    "transaction",
                    transaction("GET /invoices", now - 10, 40, spans=n_plus_one(range(5))),
                )
            )
        ],
        received=now,
    )
    assert len(issues(db, project.id)) == 2


def test_issues_api_lists_performance_issues_beside_errors(db: Database) -> None:
    now = time.time()
    project = create_project(db)
    slow = [Span("db", "SELECT sum(total) FROM orders WHERE created > '2026-01-01'", 1, 1800)]
    ingest(
        db,
        project.id,
        [
            envelope(("transaction", transaction("GET /report", now - 50, 1900, spans=slow))),
            envelope(("event", {"event_id": "a" * 32, "message": "boom", "level": "error"})),
        ],
        received=now,
    )
    with api_client(db, project) as api:
        listed = api.get("/issues/", query="")
        types = sorted(i["type"] for i in listed)
        assert types == sorted(["default", SLOW_DB_QUERY]) or types == sorted(
            ["error", SLOW_DB_QUERY]
        )
        slow_issue = next(i for i in listed if i["type"] == SLOW_DB_QUERY)
        assert slow_issue["metadata"]["value"] == "SELECT sum(total) FROM orders WHERE created > %s"
        assert slow_issue["metadata"]["duration_ms"] == pytest.approx(1800, rel=1e-3)


def row(span_id: str, parent: str | None, start: float, ms: float, group: str | None) -> SpanRow:
    return SpanRow(
        "t" * 32,
        span_id,
        parent,
        "root",
        None,
        "GET /x",
        "db" if group else "http",
        "q",
        "ok",
        start,
        ms,
        ms,
        span_id == "root",
        None,
        None,
        group,
        "q",
    )


FACT = TransactionFact("t" * 32, "root", "GET /x", None, None, 10.0, 100.0, "ok")


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        # five sequential identical queries under one parent: an N+1
        ([row(f"s{i}", "root", 1 + i * 0.01, 5, "g") for i in range(5)], 1),
        # four are not enough
        ([row(f"s{i}", "root", 1 + i * 0.01, 5, "g") for i in range(4)], 0),
        # parallel (overlapping) queries are not sequential
        ([row(f"s{i}", "root", 1 + i * 0.001, 5, "g") for i in range(6)], 0),
        # another span between them breaks the run
        (
            [row(f"s{i}", "root", 1 + i * 0.01, 5, "g") for i in range(3)]
            + [row("h", "root", 1.031, 1, None)]
            + [row(f"t{i}", "root", 1.04 + i * 0.01, 5, "g") for i in range(3)],
            0,
        ),
        # different parents are different runs
        ([row(f"s{i}", "root" if i % 2 else "p", 1 + i * 0.01, 5, "g") for i in range(8)], 0),
    ],
)
def test_n_plus_one_detector_table(spans: list[SpanRow], expected: int) -> None:
    found = detect(
        FACT,
        [row("root", None, 0.9, 100, None), *spans],
        None,
        PerformanceIssueConfig(slow_db_query_ms=1e9),
    )
    assert len(found) == expected


def test_minimum_total_duration_is_configurable() -> None:
    spans = [row(f"s{i}", "root", 1 + i * 0.01, 5, "g") for i in range(5)]
    config = PerformanceIssueConfig(n_plus_one_min_total_ms=100)
    assert detect(FACT, spans, None, config) == []

"""Logs stored once and searched on both engines: the query language, paging, retention."""

from __future__ import annotations

from pathlib import Path

import pytest

from vedette.domain.envelope import parse_envelope
from vedette.domain.retention import RetentionPolicy
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.storage import accounts, logs, retention
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
RECEIVED = 1_795_885_560.0
WHOLE_DAY = (RECEIVED - 86400, RECEIVED + 60)


@pytest.fixture
def project_id(db: Database) -> int:
    envelopes = [
        parse_envelope((CORPORA / sdk / "logs.envelope").read_bytes())
        for sdk in ("sdk-python", "sdk-node")
    ]
    with db.write() as conn:
        pid = accounts.create_project(conn, "acme", "logs").id
        for _ in range(2):  # a re-delivery stores nothing twice
            batch = [
                (pid, process_envelope(e, RECEIVED, None, ProcessingConfig())) for e in envelopes
            ]
            store_processed(conn, batch, RECEIVED)
    return pid


def bodies(db: Database, pid: int, query: str) -> list[str]:
    parsed = logs.parse_log_query(query)
    assert parsed.problems == ()
    with db.read() as conn:
        return [r.body for r in logs.search_logs(conn, pid, parsed, *WHOLE_DAY, limit=100).rows]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Carrier DHL timed out", "Stock low", "Order 17 created for acme",
              "Carrier DHL slow", "Stock low", "Order 17 created for acme"]),
        ("level:error", ["Carrier DHL timed out"]),
        ("level:warning level:error", ["Carrier DHL timed out", "Stock low", "Carrier DHL slow",
                                       "Stock low"]),
        ("sku:SKU-7", ["Stock low", "Stock low"]),
        ("left:2 release:corpora-shop@1.4.2", ["Stock low"]),
        ("logger.name:corpora.shipping", ["Carrier DHL slow"]),
        ("trace:cc59bb40461440c59c42ed7778958765 !sku:SKU-7",
         ["Carrier DHL slow", "Order 17 created for acme"]),
        ("environment:corpora carrier", ["Carrier DHL timed out", "Carrier DHL slow"]),
        ("100%", []),
    ],
)  # fmt: skip
def test_search(db: Database, project_id: int, query: str, expected: list[str]) -> None:
    assert bodies(db, project_id, query) == expected


@pytest.mark.parametrize("query", ["level:loud", "trace:xyz"])
def test_bad_queries_say_why(query: str) -> None:
    assert logs.parse_log_query(query).problems


def test_pages_follow_the_cursor(db: Database, project_id: int) -> None:
    seen: list[str] = []
    cursor = None
    with db.read() as conn:
        while True:
            page = logs.search_logs(
                conn, project_id, logs.LogQuery(), *WHOLE_DAY, limit=4, cursor=cursor
            )
            seen += [r.log_id for r in page.rows]
            if page.next_cursor is None:
                break
            cursor = logs.parse_cursor(page.rows[-1].cursor)
    assert len(seen) == len(set(seen)) == 6


def test_the_logs_of_a_trace_oldest_first(db: Database, project_id: int) -> None:
    with db.read() as conn:
        found = logs.trace_logs(conn, [project_id], "d32cbc878f9f4e7fb433c97abafe2d72")
    assert [r.level for r in found] == ["info", "warn", "error"]
    assert found[0].parameters == {"0": 17, "1": "acme"}
    assert found[0].attributes["sentry.message.template"]["value"] == "Order %s created for %s"


def test_retention_deletes_old_logs(db: Database, project_id: int) -> None:
    """SQLite deletes them in batches; PostgreSQL drops their day once it has all expired
    (tests/logs/test_partitions.py), so the second run is a day and a retention later."""
    policy = RetentionPolicy(
        max_age_seconds=10**9, max_events_per_issue=10, span_max_age_seconds=10**9,
        log_max_age_seconds=3600,
    )  # fmt: skip
    kept = retention.cleanup(db, policy, RECEIVED + 60, batch=2)
    assert kept.logs == 0
    removed = retention.cleanup(db, policy, RECEIVED + 86400 + 7200, batch=2)
    assert removed.logs == 6
    assert bodies(db, project_id, "") == []


def test_a_trace_of_logs_alone_has_no_trace_page(db: Database, project_id: int) -> None:
    trace_id = "d32cbc878f9f4e7fb433c97abafe2d72"
    with db.read() as conn:
        assert logs.traces_stored(conn, project_id, {trace_id}) == set()
        assert logs.issues_of_traces(conn, project_id, {trace_id}) == {}

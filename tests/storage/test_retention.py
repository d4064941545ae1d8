"""Retention on both engines: age limits, per-issue caps, and what survives them."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import orjson
import pytest
from sqlalchemy import event, func, select

from vedette.cli import main
from vedette.domain.envelope import Envelope, Item, parse_envelope
from vedette.domain.retention import RetentionPolicy, positions_to_keep
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.storage import accounts
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed
from vedette.storage.retention import cleanup, database_bytes
from vedette.storage.schema import attachments, events, group_activity, group_hashes, groups, spans

pytestmark = pytest.mark.time_sensitive

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora" / "sdk-python"
DAY = 86400.0
NOW = 1_800_000_000.0
POLICY = RetentionPolicy(
    max_age_seconds=90 * DAY, max_events_per_issue=10, span_max_age_seconds=30 * DAY
)


def envelope_at(name: str, timestamp: float) -> Envelope:
    """A corpus envelope re-stamped: fresh event and trace ids, the event at ``timestamp``."""
    envelope = parse_envelope((CORPORA / name).read_bytes())
    event_id = uuid.uuid4().hex
    items = []
    for item in envelope.items:
        payload = item.payload
        if item.type in ("event", "transaction"):
            event = orjson.loads(payload)
            event["event_id"] = event_id
            if "start_timestamp" in event:
                event["start_timestamp"] = timestamp - 0.5
            event["timestamp"] = timestamp
            trace_id = uuid.uuid4().hex  # spans are keyed by trace: each copy is its own
            event.get("contexts", {}).get("trace", {})["trace_id"] = trace_id
            for span in event.get("spans", []):
                span["trace_id"] = trace_id
                span["start_timestamp"] = timestamp - 0.4
                span["timestamp"] = timestamp - 0.1
            payload = orjson.dumps(event)
        items.append(Item({**item.headers, "length": len(payload)}, payload))
    headers = {k: v for k, v in envelope.headers.items() if k != "sent_at"}
    return Envelope({**headers, "event_id": event_id}, items)


def ingest(db: Database, project_id: int, name: str, timestamp: float) -> None:
    processed = process_envelope(
        envelope_at(name, timestamp), timestamp + 1, None, ProcessingConfig()
    )
    with db.write() as conn:
        store_processed(conn, [(project_id, processed)], now=timestamp + 1)


def count(db: Database, table: object, *where: object) -> int:
    with db.read() as conn:
        return int(conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stored", "cap", "kept"),
    [
        (5, 10, {0, 1, 2, 3, 4}),
        (10, 10, set(range(10))),
        (11, 10, {0, 1, 2, 3, 4, 6, 7, 8, 9, 10}),
        (30, 10, {0, 1, 7, 13, 19, 25, 26, 27, 28, 29}),
        (1000, 3, {0, 1, 999}),
    ],
)
def test_an_issue_keeps_its_first_latest_and_a_spread_sample(
    stored: int, cap: int, kept: set[int]
) -> None:
    assert positions_to_keep(stored, cap) == kept


def test_a_policy_keeps_at_least_three_events_per_issue() -> None:
    with pytest.raises(ValueError, match="at least"):
        RetentionPolicy(max_age_seconds=DAY, max_events_per_issue=2, span_max_age_seconds=DAY)


def test_old_events_go_and_idle_issues_with_them(db: Database) -> None:
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "retention")
    # One issue idle for 100 days, one seen again yesterday, a transaction of each age.
    for _ in range(3):
        ingest(db, project.id, "error_zero_division.envelope", NOW - 100 * DAY)
    ingest(db, project.id, "error_chained.envelope", NOW - 100 * DAY)
    ingest(db, project.id, "error_chained.envelope", NOW - DAY)
    ingest(db, project.id, "error_with_attachments.envelope", NOW - 100 * DAY)
    ingest(db, project.id, "fastapi_transaction.1.envelope", NOW - 100 * DAY)
    ingest(db, project.id, "fastapi_transaction.1.envelope", NOW - 40 * DAY)
    ingest(db, project.id, "fastapi_transaction.1.envelope", NOW - DAY)
    assert count(db, groups) == 3
    assert count(db, attachments) > 0
    assert count(db, group_activity) >= 3  # each issue's "first seen"
    spans_before = count(db, spans)

    report = cleanup(db, POLICY, NOW, batch=2)

    assert report.events == 3 + 1 + 1 + 1
    assert report.issues == 2, "the idle issues are gone; the one seen yesterday stays"
    assert count(db, groups) == 1
    assert count(db, group_hashes, group_hashes.c.project_id == project.id) == 1
    orphaned = group_activity.c.group_id.not_in(select(groups.c.id))
    assert count(db, group_activity, orphaned) == 0, "the idle issues' activity went with them"
    assert count(db, events, events.c.type == "transaction") == 2
    assert count(db, attachments) == 0
    assert report.attachments > 0
    # Span detail lives 30 days: the spans of the 40- and 100-day-old transactions went.
    assert count(db, spans) == spans_before // 3
    assert report.spans == spans_before - spans_before // 3
    assert cleanup(db, POLICY, NOW).total() == 0, "a second run finds nothing to do"

    # The fingerprint of an expired issue starts a new issue.
    ingest(db, project.id, "error_zero_division.envelope", NOW)
    assert count(db, groups) == 2


def test_a_busy_issue_is_trimmed_to_its_cap(db: Database) -> None:
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "busy")
    for minute in range(30):
        ingest(db, project.id, "error_zero_division.envelope", NOW - DAY + 60 * minute)
    with db.read() as conn:
        ordered = list(conn.scalars(select(events.c.event_id).order_by(events.c.timestamp)))

    report = cleanup(db, POLICY, NOW, batch=3)

    assert report.events == 20
    with db.read() as conn:
        kept = set(conn.scalars(select(events.c.event_id)))
        issue = conn.execute(select(groups.c.times_seen)).one()
    assert kept == {ordered[i] for i in positions_to_keep(30, 10)}
    assert ordered[0] in kept and ordered[-1] in kept
    assert issue.times_seen == 30, "counters keep the totals"


def test_the_database_size_is_known(db: Database) -> None:
    assert database_bytes(db) > 0


def test_cleanup_command_applies_the_settings(
    db: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "cli")
    now = time.time()
    ingest(db, project.id, "error_zero_division.envelope", now - 10 * DAY)
    ingest(db, project.id, "error_chained.envelope", now - DAY)
    ingest(db, project.id, "fastapi_transaction.1.envelope", now - 2 * DAY)  # a finished day
    monkeypatch.setenv("VEDETTE_DATABASE_URL", database_url)
    monkeypatch.setenv("VEDETTE_RETENTION_DAYS", "7")

    main(["cleanup"])

    printed = capsys.readouterr().out
    assert printed.startswith("removed 1 events, 1 issues,")
    packed = re.search(r"packed (\d+) rows of finished days' duration histograms", printed)
    assert packed is not None and int(packed.group(1)) > 0, printed
    assert count(db, groups) == 1


def test_expired_spans_are_deleted_by_rowid_on_sqlite(db: Database) -> None:
    """SQLite looks a row value of ``(project, trace, span) IN (SELECT ...)`` up by the project
    alone: each batch walked every span of the project (1 M spans, 20,000 expired, batches of
    500: 13.3 s). By rowid, each doomed span is one lookup (0.19 s)."""
    if not db.is_sqlite:
        pytest.skip("SQLite's plan; PostgreSQL drops expired days of spans whole")
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "span-expiry")
    ingest(db, project.id, "fastapi_transaction.1.envelope", NOW - 40 * DAY)
    deletes: list[tuple[str, object]] = []

    def record(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        if statement.startswith("DELETE FROM spans"):
            deletes.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert cleanup(db, POLICY, NOW, batch=2).spans > 0
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert deletes
    with db.read() as conn:
        for statement, parameters in deletes:
            plan = " | ".join(
                row[3]
                for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)  # type: ignore[arg-type]
            )
            assert plan.startswith("SEARCH spans USING INTEGER PRIMARY KEY (rowid=?)"), plan

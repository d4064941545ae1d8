"""Logs and spans that survive volume: PostgreSQL's day partitions (made ahead, expired days
dropped whole, late records kept in the default partition), SQLite's plain tables with batch
deletes, and the bounded scan of a search on an attribute or a word (cursor logic, both
engines)."""

from __future__ import annotations

import time
import uuid

import pytest
from alembic import command
from sqlalchemy import MetaData, Table, func, select, text

from vedette.domain.performance import SpanRow
from vedette.domain.processed import LogRecord, ProcessedEnvelope
from vedette.domain.retention import RetentionPolicy
from vedette.storage import accounts, logs, partitions, retention
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed
from vedette.storage.migrate import alembic_config, upgrade
from vedette.storage.schema import log_records, spans

DAY = 86400
# A fixed day, 2027-03-10 (a Wednesday): day partitions are named after their UTC date.
D = 20887
POLICY = RetentionPolicy(
    max_age_seconds=10**9, max_events_per_issue=10, span_max_age_seconds=30 * DAY,
    log_max_age_seconds=30 * DAY,
)  # fmt: skip


def record(timestamp: float, body: str = "Order created", **attributes: str) -> LogRecord:
    return LogRecord(
        log_id=uuid.uuid4().hex, timestamp=timestamp, level="info", severity_number=9,
        body=body, template=None, parameters={},
        attributes={k: {"type": "string", "value": v} for k, v in attributes.items()},
        trace_id=None, span_id=None, release=None, environment=None, sdk=None,
    )  # fmt: skip


def span(start: float) -> SpanRow:
    return SpanRow(
        trace_id=uuid.uuid4().hex, span_id=uuid.uuid4().hex[:16], parent_span_id=None,
        segment_id=None, event_id=None, transaction="GET /", op="http.server",
        description=None, status="ok", start=start, duration_ms=5.0, exclusive_ms=5.0,
        is_segment=True, release=None, environment=None,
    )  # fmt: skip


def store(db: Database, pid: int, envelope: ProcessedEnvelope, now: float) -> None:
    with db.write() as conn:
        store_processed(conn, [(pid, envelope)], now)


def count(db: Database, table: object) -> int:
    with db.read() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def in_partition(db: Database, table: partitions.Partitioned) -> dict[str, int]:
    """Rows per partition (its table name), the default one included."""
    with db.read() as conn:
        rows = conn.execute(
            text(f'SELECT tableoid::regclass::text, count(*) FROM "{table.table}" GROUP BY 1')
        ).all()
    return {str(name).removeprefix(f"{partitions.SCHEMA}."): int(n) for name, n in rows}


@pytest.fixture
def pid(db: Database) -> int:
    with db.write() as conn:
        return accounts.create_project(conn, "acme", f"p{uuid.uuid4().hex[:8]}").id


# -- pure: partition days and names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "today", "expected"),
    [
        (set(), D, [D, D + 1, D + 2, D + 3]),
        ({D, D + 1}, D, [D + 2, D + 3]),
        ({D - 5, D, D + 1, D + 2, D + 3}, D, []),
        ({D + 3}, D + 1, [D + 1, D + 2, D + 4]),
    ],
)
def test_days_are_made_ahead(existing: set[int], today: int, expected: list[int]) -> None:
    assert partitions.days_to_create(existing, today) == expected


@pytest.mark.parametrize(
    ("existing", "cutoff", "expected"),
    [
        ({D - 2, D - 1, D, D + 1}, D * DAY, [D - 2, D - 1]),  # D - 1 ends at the cutoff
        ({D - 2, D - 1, D}, D * DAY + 1, [D - 2, D - 1]),  # D straddles it: kept whole
        ({D, D + 1}, D * DAY - 1, []),
        (set(), D * DAY, []),
    ],
)
def test_only_days_wholly_expired_are_dropped(
    existing: set[int], cutoff: float, expected: list[int]
) -> None:
    assert partitions.days_to_drop(existing, cutoff) == expected


@pytest.mark.parametrize(
    ("table", "name", "day"),
    [
        ("log_records", "log_records_p20270310", D),
        ("spans", "spans_p19700101", 0),
        ("log_records", "spans_p20270310", None),  # another table's
        ("log_records", "log_records_default", None),
    ],
)
def test_partition_names(table: str, name: str, day: int | None) -> None:
    assert partitions.day_of_partition(table, name) == day
    if day is not None:
        assert partitions.partition_name(table, day) == name


# -- pure: the bounded scan's cursor -----------------------------------------------------------

P = [(100.0 - n, 50 - n) for n in range(5)]  # positions newest first


@pytest.mark.parametrize(
    ("found", "limit", "boundary", "expected"),
    [
        (P[:3], 3, None, (P[2], False)),  # a full page: go on after its last row
        (P[:3], 3, P[4], (P[2], False)),  # full before the scan's bound: the same
        (P[:2], 3, None, (None, False)),  # the window read to its end: no more
        (P[:2], 3, P[4], (P[4], True)),  # the scan stopped: go on after the last record read
        ([], 3, P[4], (P[4], True)),  # nothing among the records read, older ones remain
        ([], 3, None, (None, False)),
    ],
)
def test_where_the_next_page_starts(
    found: list[tuple[float, int]],
    limit: int,
    boundary: tuple[float, int] | None,
    expected: tuple[tuple[float, int] | None, bool],
) -> None:
    assert logs.next_page(found, limit, boundary) == expected


@pytest.mark.parametrize(
    ("query", "bounded"),
    [
        ("", False),
        ("level:error", False),  # its own index
        ("trace:0123456789abcdef0123456789abcdef declined", False),  # the trace's index
        ("declined", True),
        ("user.id:u1", True),
        ("level:error !http.status_code:200", True),
    ],
)
def test_which_searches_are_bounded(query: str, bounded: bool) -> None:
    assert logs.needs_bound(logs.parse_log_query(query)) is bounded


# -- the bounded scan on both engines ----------------------------------------------------------


def test_a_rare_word_is_found_scan_by_scan(db: Database, pid: int) -> None:
    """20 records, the rare word in the 3rd and 15th newest: a scan of 6 reads the newest 6 and
    stops; its cursor goes on, and the pages together find what one unbounded search finds."""
    start = D * DAY
    bodies = [f"Order {n}" + (" needle" if n in (5, 17) else "") for n in range(20)]
    store(db, pid, ProcessedEnvelope(logs=[record(start + n, b) for n, b in enumerate(bodies)]),
          start + 30)  # fmt: skip
    query = logs.parse_log_query("needle")
    window = (start, start + 60)
    pages = []
    cursor = None
    with db.read() as conn:
        while True:
            page = logs.search_logs(conn, pid, query, *window, limit=10, cursor=cursor, scan=6)
            pages.append(([r.body for r in page.rows], page.partial))
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        whole = logs.search_logs(conn, pid, query, *window, limit=10, scan=1000)
    assert pages == [
        (["Order 17 needle"], True),  # records 19..14
        ([], True),  # 13..8
        (["Order 5 needle"], True),  # 7..2
        ([], False),  # 1, 0: the window's end
    ]
    assert [r.body for r in whole.rows] == ["Order 17 needle", "Order 5 needle"]
    assert not whole.partial and whole.next_cursor is None


def test_an_indexed_search_is_not_bounded(db: Database, pid: int) -> None:
    start = D * DAY
    store(db, pid, ProcessedEnvelope(logs=[record(start + n) for n in range(10)]), start + 30)
    with db.read() as conn:
        page = logs.search_logs(conn, pid, logs.LogQuery(), start, start + 60, limit=4, scan=2)
    assert len(page.rows) == 4 and not page.partial


# -- PostgreSQL: partitions --------------------------------------------------------------------


@pytest.fixture
def pg(db: Database) -> Database:
    if db.is_sqlite:
        pytest.skip("PostgreSQL's partitions")
    return db


def test_sqlite_keeps_plain_tables_and_deletes_in_batches(db: Database, pid: int) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite's tables")
    with db.read() as conn:
        assert not partitions.is_partitioned(conn, partitions.LOGS)
    old = (D - 40) * DAY
    store(db, pid, ProcessedEnvelope(logs=[record(old + n) for n in range(5)]), old)
    store(db, pid, ProcessedEnvelope(logs=[record(D * DAY)]), D * DAY)
    report = retention.cleanup(db, POLICY, D * DAY + 3600, batch=2)
    assert report.logs == 5 and count(db, log_records) == 1


def test_the_tables_are_partitioned_by_day_with_days_made_ahead(pg: Database) -> None:
    with pg.read() as conn:
        for table in partitions.TABLES:
            assert partitions.is_partitioned(conn, table), table
    with pg.read() as conn:
        before = partitions.existing_days(conn, partitions.LOGS)
    made = partitions.maintain(pg, D * DAY + 10, {})
    with pg.read() as conn:
        for table in partitions.TABLES:
            assert partitions.existing_days(conn, table) >= {D, D + 1, D + 2, D + 3}
        after = partitions.existing_days(conn, partitions.LOGS)
    assert made.created == 2 * len(after - before)
    assert partitions.maintain(pg, D * DAY + 10, {}).created == 0, "made once"


def test_a_day_made_later_takes_its_rows_from_the_default(pg: Database, pid: int) -> None:
    late = (D - 10) * DAY + 5  # no partition for that day yet
    store(pg, pid, ProcessedEnvelope(logs=[record(late), record(late + 1)], spans=[span(late)]),
          late)  # fmt: skip
    assert in_partition(pg, partitions.LOGS).get("log_records_default") == 2
    partitions.maintain(pg, late, {})
    assert in_partition(pg, partitions.LOGS) == {"log_records_p20270228": 2}
    assert in_partition(pg, partitions.SPANS) == {"spans_p20270228": 1}
    # The day is a partition like the others: its dedup key and its searches.
    store(pg, pid, ProcessedEnvelope(logs=[record(late + 2)]), late)
    with pg.read() as conn:
        found = logs.search_logs(conn, pid, logs.LogQuery(), late - 1, late + 10, limit=10)
    assert len(found.rows) == 3


def test_retention_drops_expired_days_whole(pg: Database, pid: int) -> None:
    now = D * DAY + 3600
    partitions.maintain(pg, (D - 45) * DAY, {})  # the days of the old records exist
    partitions.maintain(pg, (D - 40) * DAY, {})
    store(pg, pid, ProcessedEnvelope(
        logs=[record((D - 45) * DAY + n) for n in range(4)] + [record((D - 40) * DAY + 7)],
        spans=[span((D - 45) * DAY), span((D - 40) * DAY)],
    ), now)  # fmt: skip
    store(pg, pid, ProcessedEnvelope(logs=[record((D - 50) * DAY)]), now)  # the default's
    store(pg, pid, ProcessedEnvelope(logs=[record(now - 60)], spans=[span(now - 60)]), now)
    with pg.read() as conn:
        days = partitions.existing_days(conn, partitions.LOGS)
    assert {D - 45, D - 40} <= days

    report = retention.cleanup(pg, POLICY, now, batch=2)

    assert (report.logs, report.spans) == (6, 2)
    with pg.read() as conn:
        left = partitions.existing_days(conn, partitions.LOGS)
        assert not {D - 45, D - 40} & left, "the expired days are gone"
        assert not {D - 45, D - 40} & partitions.existing_days(conn, partitions.SPANS)
        gone = conn.scalar(text(
            f"SELECT to_regclass('{partitions.SCHEMA}.log_records_p20270124')"
        ))  # fmt: skip
    assert gone is None, "dropped, not emptied"
    assert {D, D + 1} <= left
    assert count(pg, log_records) == 1 and count(pg, spans) == 1
    assert retention.cleanup(pg, POLICY, now).total() == 0, "a second run finds nothing"


def test_a_re_delivered_record_is_stored_once_in_its_day(pg: Database, pid: int) -> None:
    partitions.maintain(pg, D * DAY, {})
    again = ProcessedEnvelope(logs=[record(D * DAY + 100)], spans=[span(D * DAY)])
    for _ in range(2):
        store(pg, pid, again, D * DAY)
    assert count(pg, log_records) == 1 and count(pg, spans) == 1


# -- the migration moves every row -------------------------------------------------------------


def test_the_migration_keeps_every_log_and_span(database_url: str) -> None:
    """A database one revision before partitions, with logs and spans (today's, a 100-day-old
    one, a record from 1970): all of them are there after the upgrade, in their days or in
    the default partition, and new records get new ids."""
    db = Database(database_url)
    try:
        with db.write() as conn:
            command.upgrade(alembic_config(conn), "0025")
        now = time.time()
        stamps = [now, now - 1, now - 100 * DAY, 12.0]
        with db.write() as conn:
            old_logs = Table("log_records", MetaData(), autoload_with=conn)
            old_spans = Table("spans", MetaData(), autoload_with=conn)
            conn.execute(old_logs.insert(), [
                {"project_id": 1, "log_id": f"{n:032x}", "timestamp": ts, "level": "info",
                 "severity_number": 9, "body": f"b{n}", "parameters": {}, "attributes": {}}
                for n, ts in enumerate(stamps)
            ])  # fmt: skip
            conn.execute(old_spans.insert(), [
                {"project_id": 1, "trace_id": f"{n:032x}", "span_id": f"{n:016x}",
                 "start_timestamp": ts, "duration": 1.0, "exclusive_time": 1.0,
                 "is_segment": True}
                for n, ts in enumerate(stamps)
            ])  # fmt: skip
            before = sorted(conn.execute(select(old_logs.c.id, old_logs.c.body)).all())
        upgrade(db)
        with db.read() as conn:
            after = conn.execute(select(log_records.c.id, log_records.c.body)).all()
            assert sorted(after) == before
            assert sorted(conn.scalars(select(spans.c.start_timestamp))) == sorted(stamps)
        pid = 1
        store(db, pid, ProcessedEnvelope(logs=[record(now)]), now)
        with db.read() as conn:
            assert conn.scalar(select(func.max(log_records.c.id))) == max(i for i, _ in before) + 1
        if not db.is_sqlite:
            today = f"log_records_p{time.strftime('%Y%m%d', time.gmtime(now))}"
            placed = in_partition(db, partitions.LOGS)
            assert placed[today] >= 2 and placed["log_records_default"] == 1  # 1970's
            assert sum(in_partition(db, partitions.SPANS).values()) == 4
    finally:
        db.dispose()

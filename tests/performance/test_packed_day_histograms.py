"""Packed day and hour histograms (storage/histogram_compaction.py): the slow queries, the
transaction list and a transaction's summary answer exactly as before packing, with every
filter, for windows cut at days, hours and minutes, whatever the batch size, with late spans
for a packed day or hour, across the migrations that add the packs, and after a process killed
in the middle of a batch. On both engines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, func, select

from vedette.domain import histogram
from vedette.domain.performance import SpanRow, TransactionFact
from vedette.storage import accounts, histogram_compaction, performance, retention
from vedette.storage.database import Database
from vedette.storage.histogram_compaction import (
    PACKED_DAYS,
    PACKED_HOURS,
    PACKINGS,
    Packing,
    RowsToPack,
)
from vedette.storage.migrate import alembic_config, upgrade
from vedette.storage.performance_queries import (
    Window,
    nearest_rank_quantile,
    slow_queries,
    transaction_stats,
    transaction_summary,
)

DAY, HOUR = 86400, 3600
BASE = 1_800_000_000 // DAY * DAY  # a UTC midnight
ENVIRONMENTS = ("production", "staging", None)
RELEASES = ("shop@1.0", "shop@1.1", None)
GROUPS = ("g0", "g1", "g2")
# After the fourth day: the first four are over, the fifth still runs. Of its hours the first
# is over (packed), the second has just ended (not yet: packed SETTLE after it ends).
NOW = BASE + 4 * DAY + 2 * HOUR
# The windows read: whole days only, days with hours and minutes at both edges, the last day
# (one hour packed, one not), hours and minutes of one day, hours on both sides of a midnight
# up to the running hour, and everything.
WINDOWS = [
    (BASE, BASE + 3 * DAY),
    (BASE + 1800, BASE + 3 * DAY + 5 * HOUR + 120),
    (BASE + 4 * DAY, NOW),
    (BASE + DAY + 3 * HOUR - 59, BASE + DAY + 9 * HOUR + 1),
    (BASE + 2 * DAY - 7 * HOUR, BASE + 4 * DAY + HOUR + 1800),
    (BASE - DAY, NOW),
]
# The periods whose detailed rows stay when packing at NOW: the running day, the hour that
# has just ended.
UNPACKED_AT_NOW = {PACKED_DAYS: {BASE + 4 * DAY}, PACKED_HOURS: {BASE + 4 * DAY + HOUR}}
FILTERS = [(None, None), ("production", None), (None, "shop@1.1"), ("staging", "shop@1.0")]


def db_span(i: int, end: float) -> SpanRow:
    duration = 0.2 + (i * 7919 % 997) / 7.0
    return SpanRow(
        trace_id=f"{i:032x}", span_id=f"{i:016x}", parent_span_id="b" * 16,
        segment_id="b" * 16, event_id=None, transaction="GET /orders", op="db",
        description="SELECT 1", status="ok" if i % 9 else "internal_error", start=end,
        duration_ms=duration, exclusive_ms=duration, is_segment=False,
        release=RELEASES[i % 3], environment=ENVIRONMENTS[i // 3 % 3],
        group=GROUPS[i * 31 % 3], group_description=f"SELECT {GROUPS[i * 31 % 3]}",
    )  # fmt: skip


def transaction(i: int, end: float) -> TransactionFact:
    return TransactionFact(
        trace_id=f"{i:032x}", span_id=f"{i:016x}", name=f"GET /t{i % 2}",
        environment=ENVIRONMENTS[i // 3 % 3], release=RELEASES[i % 3], timestamp=end,
        duration_ms=1.0 + (i * 104729 % 5003) / 3.0, status="ok",
    )  # fmt: skip


def spans_every(minutes: int, start: int, end: int, first: int) -> list[tuple[int, float]]:
    """(number, end) of spans ending every ``minutes`` from ``start`` to ``end``."""
    return [(first + n, float(t)) for n, t in enumerate(range(start + 7, end, minutes * 60))]


# Spans every 11 minutes over the four finished days and the running one.
SPANS = spans_every(11, BASE, NOW, 0)


def write(db: Database, project: int, spans: list[tuple[int, float]]) -> None:
    with db.write() as conn:
        performance.write_aggregates(
            conn,
            performance.aggregate(
                [(project, transaction(i, end)) for i, end in spans],
                [(project, db_span(i, end)) for i, end in spans],
                {project: 300.0},
            ),
        )


def answers(db: Database, project: int) -> list[object]:
    """Everything the slow-queries table, the transaction list and a transaction's page show,
    for every window and filter."""
    found: list[object] = []
    with db.read() as conn:
        for start, end in WINDOWS:
            for environment, release in FILTERS:
                window = Window(project, start, end, environment, release)
                found.append(slow_queries(conn, window))
                found.append(transaction_stats(conn, window))
                found.append(transaction_summary(conn, window, "GET /t1"))
    return found


def expected_slow_queries(spans: list[tuple[int, float]], window: Window) -> list[object]:
    """The slow queries' group, count and p95, computed from the spans themselves."""
    last = -(-window.end // 60) * 60
    durations: dict[str, list[float]] = {}
    for i, end in spans:
        row = db_span(i, end)
        if not window.start // 60 * 60 <= end < last:
            continue
        if window.environment is not None and row.environment != window.environment:
            continue
        if window.release is not None and row.release != window.release:
            continue
        assert row.group is not None
        durations.setdefault(row.group, []).append(row.duration_ms)
    ranked = sorted(durations.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    return [
        (group, len(ms), nearest_rank_quantile(histogram.histogram_of(ms), 0.95))
        for group, ms in ranked
    ]


def shown(db: Database, project: int, window: Window) -> list[object]:
    with db.read() as conn:
        return [(q.group, q.count, q.p95) for q in slow_queries(conn, window)]


def all_expected(project: int, spans: list[tuple[int, float]]) -> dict[object, object]:
    """``expected_slow_queries`` for every window and filter."""
    return {
        (start, end, f): expected_slow_queries(spans, Window(project, start, end, *f))
        for start, end in WINDOWS
        for f in FILTERS
    }


def all_shown(db: Database, project: int) -> dict[object, object]:
    """``shown`` for every window and filter."""
    return {
        (start, end, f): shown(db, project, Window(project, start, end, *f))
        for start, end in WINDOWS
        for f in FILTERS
    }


def counts(db: Database, packing: Packing) -> tuple[int, ...]:
    """(detailed rows, packs per environment and release, packs of all of them)."""
    with db.read() as conn:
        return tuple(
            conn.scalar(select(func.count()).select_from(table)) or 0
            for table in (packing.detailed, packing.packs, packing.packs_all)
        )


def detailed_periods(db: Database, packing: Packing) -> set[int]:
    """The periods that still have detailed rows."""
    column = packing.detailed.c[packing.column]
    with db.read() as conn:
        return set(conn.scalars(select(column).distinct()))


def names_per_period(packing: Packing, spans: list[tuple[int, float]], last: int) -> int:
    """How many (name, period) pairs of span groups and transactions these spans fill, up to
    the period starting at ``last``: the packs of all environments and releases."""
    found = set()
    for i, end in spans:
        start = int(end) // packing.seconds * packing.seconds
        if start <= last:
            found.add((db_span(i, end).group, start))
            found.add((transaction(i, end).name, start))
    return len(found)


def to_pack(db: Database, packing: Packing) -> list[RowsToPack]:
    with db.read() as conn:
        return histogram_compaction.periods_to_pack(conn, packing, NOW)


def new_project(db: Database) -> int:
    with db.write() as conn:
        return accounts.create_project(conn, "acme", "shop").id


@pytest.mark.parametrize("batch", [7, histogram_compaction.DEFAULT_BATCH])
def test_packing_changes_no_answer(db: Database, batch: int) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    before = answers(db, project)
    detailed = {packing: counts(db, packing)[0] for packing in PACKINGS}

    moved = histogram_compaction.pack_finished(db, NOW, batch)

    after = {packing: counts(db, packing) for packing in PACKINGS}
    assert moved == sum(detailed[p] - after[p][0] for p in PACKINGS)
    for packing, (remaining, packs, packs_all) in after.items():
        assert 0 < packs <= detailed[packing] - remaining
        [running] = UNPACKED_AT_NOW[packing]
        last = running - packing.seconds
        assert packs_all == names_per_period(packing, SPANS, last), "per name and period"
        assert detailed_periods(db, packing) == {running}, "only the running period is left"
    assert answers(db, project) == before
    assert histogram_compaction.pack_finished(db, NOW, batch) == 0, "idempotent"
    assert {p: counts(db, p) for p in PACKINGS} == after
    assert answers(db, project) == before


@pytest.mark.parametrize("packing", PACKINGS, ids=repr)
def test_a_period_is_packed_once_settled_after_it_ends(db: Database, packing: Packing) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    end = BASE + 4 * DAY  # the end of a day and of an hour
    histogram_compaction.pack_finished(db, end + packing.settle - 1)
    assert min(detailed_periods(db, packing)) == end - packing.seconds
    histogram_compaction.pack_finished(db, end + packing.settle)
    assert min(detailed_periods(db, packing)) == end


def test_late_spans_for_a_packed_period_count_before_and_after_the_next_run(
    db: Database,
) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    before = histogram_compaction.pack_finished(db, NOW, 50)
    # Late for packed days and their hours, and for a packed hour of the running day.
    late = [
        *spans_every(17, BASE + DAY, BASE + 3 * DAY, len(SPANS)),
        *spans_every(3, BASE + 4 * DAY, BASE + 4 * DAY + HOUR, 2 * len(SPANS)),
    ]
    write(db, project, late)
    expected = all_expected(project, SPANS + late)
    assert all_shown(db, project) == expected
    assert 0 < histogram_compaction.pack_finished(db, NOW, 50) < before
    assert all_shown(db, project) == expected


def test_the_housekeeping_packs(db: Database) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    before = answers(db, project)
    policy = retention.RetentionPolicy(90 * 86400.0, 10_000, 30 * 86400.0)
    report = retention.cleanup(db, policy, NOW)
    assert report.histogram_rows_packed > 0
    assert answers(db, project) == before


class Crash(Exception):
    pass


@pytest.mark.parametrize("packing", PACKINGS, ids=repr)
def test_a_batch_that_fails_leaves_the_detailed_rows(db: Database, packing: Packing) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    before = answers(db, project)
    [first, *_] = to_pack(db, packing)
    with pytest.raises(Crash), db.write() as conn:
        assert histogram_compaction.pack_batch(conn, first, 4) == 4
        raise Crash
    assert counts(db, packing)[1:] == (0, 0)
    assert answers(db, project) == before


KILLED_MID_BATCH = """
import sys
from vedette.storage import histogram_compaction
from vedette.storage.database import Database

db = Database(sys.argv[1])
now = float(sys.argv[2])
packing = getattr(histogram_compaction, sys.argv[3])
with db.read() as conn:
    periods = histogram_compaction.periods_to_pack(conn, packing, now)
with db.write() as conn:
    histogram_compaction.pack_batch(conn, periods[0], 4)  # committed
with db.write() as conn:
    histogram_compaction.pack_batch(conn, periods[1], 4)  # killed before it commits
    print("inside", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts, killed at its end if still running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        with process:  # closes its pipes
            if process.poll() is None:
                process.kill()


@pytest.mark.parametrize("packing", ["PACKED_DAYS", "PACKED_HOURS"])
def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(
    db: Database, tmp_path: Path, processes: list[subprocess.Popen[str]], packing: str
) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    before = answers(db, project)
    detailed, _, _ = counts(db, getattr(histogram_compaction, packing))
    script = tmp_path / "packer.py"
    script.write_text(KILLED_MID_BATCH)
    url = db.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, str(script), url, str(NOW), packing],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    processes.append(process)
    assert process.stdout is not None
    assert process.stdout.readline() == "inside\n"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    after, *_ = counts(db, getattr(histogram_compaction, packing))
    assert after == detailed - 4, "the committed batch moved, the killed one did not"
    assert answers(db, project) == before
    histogram_compaction.pack_finished(db, NOW)
    assert answers(db, project) == before


def detailed_rows(db: Database, packing: Packing) -> list[tuple[object, ...]]:
    with db.read() as conn:
        return sorted(tuple(r) for r in conn.execute(select(packing.detailed)))


def test_an_upgraded_database_answers_the_same(database_url: str) -> None:
    """A database at 0027 with detailed rows: migrated to 0028 and its days packed, then
    migrated to the head and its hours packed too, then migrated back."""
    db = Database(database_url)
    try:
        with db.write() as conn:
            command.upgrade(alembic_config(conn), "0027")
        project = new_project(db)  # the tables it writes are unchanged since 0027
        write(db, project, SPANS)
        detailed = {packing: detailed_rows(db, packing) for packing in PACKINGS}
        expected = all_expected(project, SPANS)

        with db.write() as conn:
            command.upgrade(alembic_config(conn), "0028")
        for rows in to_pack(db, PACKED_DAYS):  # what the code of 0028 does
            with db.write() as conn:
                histogram_compaction.pack_batch(conn, rows, 10**6)
        upgrade(db)
        assert all_shown(db, project) == expected
        assert detailed_rows(db, PACKED_HOURS) == detailed[PACKED_HOURS]
        assert detailed_periods(db, PACKED_DAYS) == UNPACKED_AT_NOW[PACKED_DAYS]
        assert histogram_compaction.pack_finished(db, NOW, 100) > 0
        assert detailed_periods(db, PACKED_HOURS) == UNPACKED_AT_NOW[PACKED_HOURS]
        assert all_shown(db, project) == expected
        with db.write() as conn:
            command.downgrade(alembic_config(conn), "0028")
        assert detailed_rows(db, PACKED_HOURS) == detailed[PACKED_HOURS]
        with db.write() as conn:
            command.downgrade(alembic_config(conn), "0027")
        assert detailed_rows(db, PACKED_DAYS) == detailed[PACKED_DAYS]
    finally:
        db.dispose()


def wait_for_lock(db: Database, pid: int) -> None:
    """Until PostgreSQL backend ``pid`` waits for a lock (a condition polled, not a delay)."""
    with db.read() as conn:
        for _ in range(100_000):
            conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            waiting = conn.exec_driver_sql(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).scalar()
            if waiting == "Lock":
                return
    raise AssertionError(f"backend {pid} never waited for a lock")


class Backend(threading.Thread):
    """A thread running ``work`` in a write transaction, its backend pid known once begun."""

    def __init__(self, db: Database, work: Callable[[Connection], object]) -> None:
        super().__init__(daemon=True)
        self.db, self.work = db, work
        self.pid = 0
        self.begun = threading.Event()
        self.result: object = None

    def run(self) -> None:
        with self.db.write() as conn:
            self.pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            self.begun.set()
            self.result = self.work(conn)


@pytest.mark.parametrize("packing", PACKINGS, ids=repr)
def test_the_worker_writing_the_period_being_packed_loses_nothing(
    db: Database, packing: Packing
) -> None:
    """On PostgreSQL the worker and the packing run at once: in either order on the same rows,
    every count is kept (SQLite runs one write transaction at a time)."""
    if db.is_sqlite:
        pytest.skip("SQLite runs one write transaction at a time")
    project = new_project(db)
    write(db, project, SPANS)
    [first, *_] = to_pack(db, packing)
    # The same spans again (aggregates do not deduplicate): the same detailed rows' keys.
    again = [(i, end) for i, end in SPANS if first.start <= end < first.start + packing.seconds]

    def add_again(conn: Connection) -> None:
        performance.write_aggregates(
            conn,
            performance.aggregate(
                [(project, transaction(i, end)) for i, end in again],
                [(project, db_span(i, end)) for i, end in again],
                {project: 300.0},
            ),
        )

    # 1. The packing deletes the day's rows; the worker's upserts of them wait, then insert.
    with db.write() as packing:
        assert histogram_compaction.pack_batch(packing, first, 1_000_000) > 0
        worker = Backend(db, add_again)
        worker.start()
        worker.begun.wait()
        wait_for_lock(db, worker.pid)
    worker.join()

    # 2. The worker updates those rows first; the packing waits, then skips every row updated
    # meanwhile (a new row version): they stay detailed rows, counted once.
    wrote, commit = threading.Event(), threading.Event()

    def add_again_and_hold(conn: Connection) -> None:
        add_again(conn)
        wrote.set()
        commit.wait()

    holder = Backend(db, add_again_and_hold)
    holder.start()
    packer = Backend(db, lambda conn: histogram_compaction.pack_batch(conn, first, 10**6))
    try:
        assert wrote.wait(60), "the worker's write failed"
        packer.start()
        packer.begun.wait()
        wait_for_lock(db, packer.pid)
    finally:
        commit.set()
    holder.join()
    packer.join()
    assert packer.result == 0

    window = Window(project, BASE - DAY, NOW)
    expected = expected_slow_queries(SPANS + again + again, window)
    assert shown(db, project, window) == expected
    assert histogram_compaction.pack_finished(db, NOW) > 0
    assert shown(db, project, window) == expected

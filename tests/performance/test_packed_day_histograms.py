"""Packed day histograms (storage/histogram_compaction.py): the slow queries and transaction
stats answer exactly as before packing, with every filter, whatever the batch size, with late
spans for a packed day, across the migration that adds the packs, and after a process killed
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
from vedette.storage.migrate import alembic_config, upgrade
from vedette.storage.performance_queries import (
    Window,
    nearest_rank_quantile,
    slow_queries,
    transaction_stats,
)
from vedette.storage.schema import (
    perf_day_histogram_packs,
    perf_day_histogram_packs_all,
    perf_day_histograms,
)

DAY, HOUR = 86400, 3600
BASE = 1_800_000_000 // DAY * DAY  # a UTC midnight
ENVIRONMENTS = ("production", "staging", None)
RELEASES = ("shop@1.0", "shop@1.1", None)
GROUPS = ("g0", "g1", "g2")
# After the fourth day: the first four are over, the fifth still runs.
NOW = BASE + 4 * DAY + 2 * HOUR
# The windows read: whole days only, days with hours and minutes at both edges, the last day
# (not packed), and everything.
WINDOWS = [
    (BASE, BASE + 3 * DAY),
    (BASE + 1800, BASE + 3 * DAY + 5 * HOUR + 120),
    (BASE + 4 * DAY, NOW),
    (BASE - DAY, NOW),
]
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
    """Everything the slow-queries table and the transaction list show, for every window
    and filter."""
    found: list[object] = []
    with db.read() as conn:
        for start, end in WINDOWS:
            for environment, release in FILTERS:
                window = Window(project, start, end, environment, release)
                found.append(slow_queries(conn, window))
                found.append(transaction_stats(conn, window))
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


def counts(db: Database) -> tuple[int, ...]:
    """(detailed day rows, packs per environment and release, packs of all of them)."""
    with db.read() as conn:
        return tuple(
            conn.scalar(select(func.count()).select_from(table)) or 0
            for table in (
                perf_day_histograms,
                perf_day_histogram_packs,
                perf_day_histogram_packs_all,
            )
        )


def new_project(db: Database) -> int:
    with db.write() as conn:
        return accounts.create_project(conn, "acme", "shop").id


@pytest.mark.parametrize("batch", [7, histogram_compaction.DEFAULT_BATCH])
def test_packing_changes_no_answer(db: Database, batch: int) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    before = answers(db, project)
    detailed, _, _ = counts(db)

    moved = histogram_compaction.pack_finished_days(db, NOW, batch)

    remaining, packs, packs_all = counts(db)
    assert moved == detailed - remaining > 0
    assert 0 < packs < moved
    assert packs_all == len(GROUPS) * 4 + 2 * 4, "per span group and transaction, per day"
    with db.read() as conn:
        days = {d for (d,) in conn.execute(select(perf_day_histograms.c.day).distinct())}
    assert days == {BASE + 4 * DAY}, "only the running day keeps its detailed rows"
    assert answers(db, project) == before
    assert histogram_compaction.pack_finished_days(db, NOW, batch) == 0, "idempotent"
    assert counts(db) == (remaining, packs, packs_all)
    assert answers(db, project) == before


def test_a_day_is_packed_an_hour_after_it_ends(db: Database) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    assert histogram_compaction.pack_finished_days(db, BASE + 4 * DAY + HOUR - 1) > 0
    with db.read() as conn:
        days = {d for (d,) in conn.execute(select(perf_day_histograms.c.day).distinct())}
    assert days == {BASE + 3 * DAY, BASE + 4 * DAY}


def test_late_spans_for_a_packed_day_count_before_and_after_the_next_run(db: Database) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    histogram_compaction.pack_finished_days(db, NOW, 50)
    late = spans_every(17, BASE + DAY, BASE + 3 * DAY, len(SPANS))
    write(db, project, late)
    window = Window(project, BASE, NOW)
    expected = expected_slow_queries(SPANS + late, window)
    assert shown(db, project, window) == expected
    assert histogram_compaction.pack_finished_days(db, NOW, 50) > 0
    assert shown(db, project, window) == expected
    for environment, release in FILTERS:
        filtered = Window(project, BASE + 1800, NOW, environment, release)
        assert shown(db, project, filtered) == expected_slow_queries(SPANS + late, filtered)


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


def test_a_batch_that_fails_leaves_the_detailed_rows(db: Database) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    before = answers(db, project)
    with db.read() as conn:
        [first, *_] = histogram_compaction.days_to_pack(conn, NOW)
    with pytest.raises(Crash), db.write() as conn:
        assert histogram_compaction.pack_batch(conn, first, 40) == 40
        raise Crash
    assert counts(db)[1:] == (0, 0)
    assert answers(db, project) == before


KILLED_MID_BATCH = """
import sys
from vedette.storage import histogram_compaction
from vedette.storage.database import Database

db = Database(sys.argv[1])
now = float(sys.argv[2])
with db.read() as conn:
    days = histogram_compaction.days_to_pack(conn, now)
with db.write() as conn:
    histogram_compaction.pack_batch(conn, days[0], 30)  # committed
with db.write() as conn:
    histogram_compaction.pack_batch(conn, days[1], 30)  # killed before it commits
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


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(
    db: Database, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    project = new_project(db)
    write(db, project, SPANS)
    before = answers(db, project)
    detailed, _, _ = counts(db)
    script = tmp_path / "packer.py"
    script.write_text(KILLED_MID_BATCH)
    url = db.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, str(script), url, str(NOW)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    processes.append(process)
    assert process.stdout is not None
    assert process.stdout.readline() == "inside\n"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    assert counts(db)[0] == detailed - 30, "the committed batch moved, the killed one did not"
    assert answers(db, project) == before
    histogram_compaction.pack_finished_days(db, NOW)
    assert answers(db, project) == before


def test_an_upgraded_database_answers_the_same(database_url: str) -> None:
    """A database at 0027 with detailed rows: migrated, then packed, then migrated back."""
    db = Database(database_url)
    try:
        with db.write() as conn:
            command.upgrade(alembic_config(conn), "0027")
        project = new_project(db)  # the tables it writes are unchanged since 0027
        write(db, project, SPANS)
        with db.read() as conn:
            detailed = sorted(tuple(r) for r in conn.execute(select(perf_day_histograms)))
        expected = {
            (start, end, f): expected_slow_queries(SPANS, Window(project, start, end, *f))
            for start, end in WINDOWS
            for f in FILTERS
        }

        def all_shown() -> dict[object, object]:
            return {
                (start, end, f): shown(db, project, Window(project, start, end, *f))
                for start, end in WINDOWS
                for f in FILTERS
            }

        upgrade(db)
        assert all_shown() == expected
        assert histogram_compaction.pack_finished_days(db, NOW, 100) > 0
        assert all_shown() == expected
        with db.write() as conn:
            command.downgrade(alembic_config(conn), "0027")
        with db.read() as conn:
            assert sorted(tuple(r) for r in conn.execute(select(perf_day_histograms))) == detailed
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


def test_the_worker_writing_the_day_being_packed_loses_nothing(db: Database) -> None:
    """On PostgreSQL the worker and the packing run at once: in either order on the same rows,
    every count is kept (SQLite runs one write transaction at a time)."""
    if db.is_sqlite:
        pytest.skip("SQLite runs one write transaction at a time")
    project = new_project(db)
    write(db, project, SPANS)
    with db.read() as conn:
        [first, *_] = histogram_compaction.days_to_pack(conn, NOW)
    # The same spans again (aggregates do not deduplicate): the same detailed rows' keys.
    again = [(i, end) for i, end in SPANS if first.day <= end < first.day + DAY]

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
    assert histogram_compaction.pack_finished_days(db, NOW) > 0
    assert shown(db, project, window) == expected

"""Where a slow read spends its time: every SQL statement it runs, timed, with its plan.

    uv run python bench/explain.py --data /tmp/vedette-q                      # SQLite
    uv run python bench/explain.py --data /tmp/vedette-q-pg \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/vedette_q    # PostgreSQL
    uv run python bench/explain.py --data /tmp/vedette-q --only slow-queries --repeat 5

In-process, on a database made by bench/generate.py (its manifest names the project): the
storage functions behind the slow queries (API and web page, 14 days and 24 hours), the web
issue page of the largest issue (its reads, not the rendering) and the issue list sorted by
frequency run ``--repeat`` times after one warm-up. Each function's wall time (p50, p95 and the
slowest run) and CPU time (p50, of this process: SQLite's work included, PostgreSQL's not;
steadier than wall time on a busy machine) are printed, then the statements of its last run
that took the most time, each with its plan: ``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN
(ANALYZE, BUFFERS)`` on PostgreSQL (so the partitions and indexes the planner chose show).
Statements are captured with SQLAlchemy's cursor events, so what is explained is exactly what
the code sent.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, func, select, text

from vedette.domain.search import parse_search
from vedette.storage import activity, performance_queries, queries
from vedette.storage.database import Database
from vedette.storage.schema import groups

DAY = 86400.0


class Recorder:
    """The statements run on an engine while ``on`` is set: (seconds, SQL, parameters)."""

    def __init__(self, db: Database) -> None:
        self.on = False
        self.found: list[tuple[float, str, Any]] = []
        self._started = 0.0
        event.listen(db.engine, "before_cursor_execute", self._before)
        event.listen(db.engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.on:
            self.found.append((time.perf_counter() - self._started, statement, parameters))


def run(conn: Connection, statement: str, parameters: Any) -> list[Any]:
    """One captured statement run again through the DB-API cursor as it was sent, all rows
    fetched (SQLite steps through a query while its rows are fetched, after the cursor event)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def timed(conn: Connection, statement: str, parameters: Any) -> float:
    started = time.perf_counter()
    run(conn, statement, parameters)
    return time.perf_counter() - started


def plan(conn: Connection, statement: str, parameters: Any) -> str:
    """The plan of one captured statement: the planner's choice on SQLite, what it did and read
    on PostgreSQL."""
    postgres = conn.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    rows = run(conn, prefix + statement, parameters)
    if postgres:
        return "\n".join(f"    {r[0]}" for r in rows)
    return "\n".join(f"    {'  ' * (r[1] > 0)}{r[-1]}" for r in rows)


def reads(conn: Connection, manifest: dict[str, Any], now: float) -> dict[str, Callable[[], Any]]:
    slug = {"s": manifest["project"]}
    project_id = int(
        conn.execute(text("SELECT id FROM projects WHERE slug = :s"), slug).scalar_one()
    )
    biggest = conn.execute(
        select(groups.c.id)
        .where(groups.c.project_id == project_id)
        .order_by(groups.c.times_seen.desc())
        .limit(1)
    ).scalar_one_or_none()
    window = performance_queries.Window(project_id, now - 14 * DAY, now)
    day = performance_queries.Window(project_id, now - DAY, now)
    unresolved = parse_search("is:unresolved")

    def issue_page() -> Any:
        if biggest is None:
            return None
        [latest] = queries.issue_events(conn, biggest, limit=1)
        hour = int(now // 3600)
        return (
            queries.event_neighbours(conn, project_id, biggest, latest.event_id),
            queries.issue_tags(conn, biggest, top=5),
            activity.issues_event_counts(conn, [biggest], (hour - 23) * 3600, 3600),
        )

    found: dict[str, Callable[[], Any]] = {
        "slow-queries": lambda: performance_queries.slow_queries(conn, window),
        "slow-queries-24h": lambda: performance_queries.slow_queries(conn, day),
        "issue-page": issue_page,
        "issue-list-freq": lambda: queries.search_issues(conn, project_id, unresolved, "freq"),
    }
    if not manifest.get("transactions"):
        found = {k: v for k, v in found.items() if not k.startswith("slow")}
    if biggest is None:
        found = {k: v for k, v in found.items() if k.startswith("slow")}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="bench/generate.py's --out")
    parser.add_argument("--database", default=None, help="database URL (default: SQLite)")
    parser.add_argument("--only", action="append", default=[], help="a read's name (repeatable)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--statements", type=int, default=4, help="plans shown per read")
    args = parser.parse_args()
    manifest = json.loads((args.data / "manifest.json").read_text())
    db = Database(args.database or f"sqlite:///{args.data / 'vedette.sqlite3'}")
    recorder = Recorder(db)
    now = time.time()
    try:
        with db.read() as conn:
            conn.execute(select(func.count()).select_from(groups)).scalar_one()
            for name, read in reads(conn, manifest, now).items():
                if args.only and name not in args.only:
                    continue
                read()  # warm-up
                times, cpu = [], []
                for _ in range(args.repeat):
                    recorder.found.clear()
                    recorder.on = True
                    started, cpu_started = time.perf_counter(), time.process_time()
                    read()
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu_started)
                    recorder.on = False
                statements = sorted(
                    ((timed(conn, s, p), s, p) for _, s, p in recorder.found), key=lambda f: -f[0]
                )
                in_sql = sum(s for s, _, _ in statements)
                ordered = sorted(times)
                p95 = ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]
                print(
                    f"\n## {name}: p50 {statistics.median(times) * 1000:.1f} ms, p95"
                    f" {p95 * 1000:.1f} ms, slowest {max(times) * 1000:.1f} ms, CPU p50"
                    f" {statistics.median(cpu) * 1000:.1f} ms;"
                    f" {len(statements)} statements,"
                    f" {in_sql * 1000:.1f} ms to run and fetch them again"
                )
                for seconds, statement, parameters in statements[: args.statements]:
                    print(f"\n  {seconds * 1000:.1f} ms: {' '.join(statement.split())[:400]}")
                    print(plan(conn, statement, parameters))
    finally:
        db.dispose()


if __name__ == "__main__":
    main()

"""Packing the day and hour histograms of a generated database (bench/generate.py), and the
answers the slow queries give, to compare before and after.

    uv run python bench/pack_histograms.py pack --data /tmp/vedette-q
    uv run python bench/pack_histograms.py answers --data /tmp/vedette-q --now 1796000000 \\
        --out /tmp/answers.json

``pack`` runs storage/histogram_compaction.py's batches as the worker's housekeeping does (days,
then hours), each batch timed (the time it holds SQLite's write lock), and prints the detailed
rows and packs before and after. ``answers`` writes what the slow-queries table and the
transaction list show for 14 days and 24 hours before ``--now``, unfiltered and filtered by
environment and release, with the transaction page's stats and histogram of the three busiest
transactions, as JSON: it imports nothing the code before packing lacks, so the old code (a
worktree on PYTHONPATH) can write the same file from the database before it is packed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text

from vedette.storage import performance_queries
from vedette.storage.database import Database

if TYPE_CHECKING:  # the code before packing hours lacks it: imported when packing
    from vedette.storage.histogram_compaction import Packing

DAY = 86400.0


def database(args: argparse.Namespace) -> Database:
    return Database(args.database or f"sqlite:///{args.data / 'vedette.sqlite3'}")


def pack(db: Database, batch: int, now: float) -> None:
    from vedette.storage import histogram_compaction

    for packing in histogram_compaction.PACKINGS:
        pack_period(db, packing, batch, now)


def pack_period(db: Database, packing: Packing, batch: int, now: float) -> None:
    """Pack one period's rows finished at ``now``, timing each batch."""
    from vedette.storage import histogram_compaction

    tables = (packing.detailed, packing.packs, packing.packs_all)

    def rows() -> tuple[int, ...]:
        with db.read() as conn:
            return tuple(
                conn.scalar(select(func.count()).select_from(table)) or 0 for table in tables
            )

    before = rows()
    started, cpu = time.perf_counter(), time.process_time()
    with db.read() as conn:
        periods = histogram_compaction.periods_to_pack(conn, packing, now)
    found = time.perf_counter() - started
    batches: list[float] = []
    for period in periods:
        while True:
            began = time.perf_counter()
            with db.write() as conn:
                moved = histogram_compaction.pack_batch(conn, period, batch)
            batches.append(time.perf_counter() - began)
            if moved < batch:
                break
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = rows()
    print(
        f"{packing.column}s: detailed rows {before[0]:,} -> {after[0]:,}, packs {before[1]:,}"
        f" -> {after[1]:,}, packs of all environments and releases {before[2]:,} -> {after[2]:,}"
    )
    if batches:
        print(
            f"{len(periods)} {packing.column}s in {total:.2f} s, CPU {cpu:.2f} s"
            f" ({found * 1000:.0f} ms to find them); {len(batches)} batches of up to {batch:,}"
            f" rows: p50 {statistics.median(batches) * 1000:.0f} ms, slowest"
            f" {max(batches) * 1000:.0f} ms"
        )


def answers(db: Database, project_slug: str, now: float) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with db.read() as conn:
        project_id = int(
            conn.execute(
                text("SELECT id FROM projects WHERE slug = :s"), {"s": project_slug}
            ).scalar_one()
        )
        environment = conn.execute(
            text("SELECT environment FROM perf_days WHERE project_id = :p LIMIT 1"),
            {"p": project_id},
        ).scalar_one()
        release = conn.execute(
            text("SELECT release FROM perf_days WHERE project_id = :p ORDER BY day DESC LIMIT 1"),
            {"p": project_id},
        ).scalar_one()
        for days in (14, 1):
            for env, rel in ((None, None), (environment, None), (None, release)):
                window = performance_queries.Window(project_id, now - days * DAY, now, env, rel)
                label = f"{days}d env={env} release={rel}"
                found[f"slow queries {label}"] = [
                    dataclasses.asdict(q) for q in performance_queries.slow_queries(conn, window)
                ]
                listed = performance_queries.transaction_stats(conn, window)
                found[f"transactions {label}"] = [dataclasses.asdict(s) for s in listed]
                for stats in listed[:3]:  # the transaction page: its stats and histogram
                    summary = performance_queries.transaction_summary(conn, window, stats.name)
                    assert summary is not None
                    found[f"transaction {stats.name} {label}"] = [
                        dataclasses.asdict(summary[0]),
                        sorted(summary[1].items()),
                    ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("pack", "answers"))
    parser.add_argument("--data", type=Path, required=True, help="bench/generate.py's --out")
    parser.add_argument("--database", default=None, help="database URL (default: SQLite)")
    parser.add_argument("--batch", type=int, default=5000, help="detailed rows per batch")
    parser.add_argument(
        "--now",
        type=float,
        default=None,
        help="answers: the windows' end; pack: the periods finished then (default: now)",
    )
    parser.add_argument("--out", type=Path, default=None, help="answers: the JSON file")
    args = parser.parse_args()
    db = database(args)
    try:
        if args.command == "pack":
            pack(db, args.batch, args.now or time.time())
        else:
            manifest = json.loads((args.data / "manifest.json").read_text())
            found = answers(db, manifest["project"], args.now or time.time())
            text_out = json.dumps(found, indent=1, sort_keys=True)
            if args.out:
                args.out.write_text(text_out)
            else:
                print(text_out)
    finally:
        db.dispose()


if __name__ == "__main__":
    main()

"""How many durable SQLite commits per second this disk gives, in one file and in several.

    uv run python bench/commit_scaling.py --files 1,2,4 --commits 300
    uv run python bench/commit_scaling.py --writer --files 1,4 --clients 8 --rounds 3

Each thread appends batches of four 2.5 KB rows (a group commit of gzip error envelopes as the
spool writes them) to its own file, in WAL mode with ``synchronous=FULL`` as the spool runs, so
every commit waits for an fsync. One file is what the spool has today: its commits are serial,
so at a fixed number of clients the fsync latency bounds the accepted rate. If several files
commit in parallel at a higher total rate, a spool split over that many files (one writer
thread each) would raise that bound without weakening durability.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from vedette.domain.spooled import NewEntry
from vedette.spool.writer import SpoolWriter
from vedette.storage.database import Database
from vedette.storage.schema import spool_file, spool_file_metadata

ROW = (1, 0.0, "127.0.0.1", os.urandom(2500))
INSERT = "INSERT INTO spool (project_id, received_at, client_ip, payload) VALUES (?, ?, ?, ?)"


def commit_batches(path: Path, commits: int, rates: list[float]) -> None:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE spool (id INTEGER PRIMARY KEY AUTOINCREMENT, project_id INTEGER,"
        " received_at FLOAT, client_ip VARCHAR(64), payload BLOB)"
    )
    started = time.perf_counter()
    for _ in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, [ROW] * 4)
        conn.execute("COMMIT")
    rates.append(commits / (time.perf_counter() - started))
    conn.close()


async def append_for(
    writer: SpoolWriter, seconds: float, handling: float, latencies: list[float]
) -> None:
    """Handle a request (``handling`` seconds of CPU on the event loop, as ingest's decoding
    takes before it appends), append its entry and wait for the commit; again until the end."""
    deadline = time.perf_counter() + seconds
    while (started := time.perf_counter()) < deadline:
        while time.perf_counter() - started < handling:
            pass
        await writer.append(NewEntry(ROW[0], time.time(), ROW[2], ROW[3]))
        latencies.append(time.perf_counter() - started)


def writer_run(files: int, clients: int, seconds: float, handling: float) -> str:
    """One run of the spool writer over ``files`` new files; a line of figures."""
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        dbs = [Database(f"sqlite:///{Path(tmp) / f'spool-{i}.sqlite3'}") for i in range(files)]
        for db in dbs:
            spool_file_metadata.create_all(db.engine)
        commits: list[int] = []
        writer = SpoolWriter(dbs, spool_file, lambda: commits.append(1))
        latencies: list[float] = []

        async def load() -> None:
            await asyncio.gather(
                *(append_for(writer, seconds, handling, latencies) for _ in range(clients))
            )

        writer.start()
        started = time.perf_counter()
        try:
            asyncio.run(load())
        finally:
            elapsed = time.perf_counter() - started
            writer.stop()
            for db in dbs:
                db.dispose()
    ordered = sorted(latencies)
    p50, p99 = (ordered[int(q * (len(ordered) - 1))] * 1000 for q in (0.5, 0.99))
    return (
        f"{files} file(s), {clients} clients: {len(latencies) / elapsed:,.0f} appends/s,"
        f" p50 {p50:.2f} ms, p99 {p99:.2f} ms, {len(latencies) / max(1, len(commits)):.1f}"
        " entries per commit"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", default="1,2,4")
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--writer", action="store_true", help="drive the spool writer")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--handling-ms", type=float, default=0.3, help="CPU per request before its append"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.files.split(",")]
    if args.writer:
        for round_no in range(1, args.rounds + 1):
            for files in counts if round_no % 2 else counts[::-1]:
                line = writer_run(files, args.clients, args.seconds, args.handling_ms / 1000)
                print(f"round {round_no}: {line}")
        return
    for files in counts:
        with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
            rates: list[float] = []
            threads = [
                threading.Thread(
                    target=commit_batches, args=(Path(tmp) / f"spool-{i}.db", args.commits, rates)
                )
                for i in range(files)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            total = files * args.commits / (time.perf_counter() - started)
        print(
            f"{files} file(s): {total:,.0f} commits/s in all"
            f" ({', '.join(f'{r:,.0f}' for r in rates)} per file)"
        )


if __name__ == "__main__":
    main()

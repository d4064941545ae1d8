"""How many durable SQLite commits per second this disk gives, in one file and in several.

    uv run python bench/commit_scaling.py --files 1,2,4 --commits 300

Each thread appends batches of four 2.5 KB rows (a group commit of gzip error envelopes as the
spool writes them) to its own file, in WAL mode with ``synchronous=FULL`` as the spool runs, so
every commit waits for an fsync. One file is what the spool has today: its commits are serial,
so at a fixed number of clients the fsync latency bounds the accepted rate. If several files
commit in parallel at a higher total rate, a spool split over that many files (one writer
thread each) would raise that bound without weakening durability.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", default="1,2,4")
    parser.add_argument("--commits", type=int, default=300)
    args = parser.parse_args()
    for files in (int(n) for n in args.files.split(",")):
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

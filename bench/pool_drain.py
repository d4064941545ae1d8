"""How fast the worker drains a backlog with and without processing helpers (issue 18).

    uv run python bench/pool_drain.py --payload error --events 20000 --rounds 2

Spools ``--events`` fresh copies of a payload of bench/payloads.py (gzip, as SDKs send them)
into a new SQLite database, then times the worker's batches (``Worker.run_once``) until the
spool is empty: with 0 helpers and with ``--processes``, alternating, in this one process (the
helpers are its children, started on the first large batch as in `vedette serve`).
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hotspots import fresh_raw
from payloads import PAYLOAD_NAMES, build_payloads

from vedette.domain.spooled import NewEntry
from vedette.settings import Settings
from vedette.spool.gc_tuning import tune_garbage_collector
from vedette.spool.processing_pool import PoolConfig
from vedette.spool.worker import Worker, WorkerConfig
from vedette.storage import accounts, spool_store
from vedette.storage.migrate import upgrade
from vedette.stores import open_storage


def idle_cpu_seconds() -> float:
    """Seconds all the machine's cores have been idle since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


def drain_seconds(bodies: list[bytes], processes: int) -> tuple[float, float, float, float, int]:
    """Seconds to drain ``bodies`` from a new database: wall, CPU of this process, CPU of its
    helpers, idle time of the machine's cores; and how many of them helpers processed."""
    with tempfile.TemporaryDirectory() as tmp:
        storage = open_storage(Settings(data_dir=Path(tmp)))
        upgrade(storage.db)
        with storage.db.write() as conn:
            project_id = accounts.create_project(conn, "bench", "bench").id
        for start in range(0, len(bodies), 1000):
            with storage.spool.append_databases[0].write() as conn:
                spool_store.append(conn, storage.spool.table, [
                    NewEntry(project_id, time.time(), "127.0.0.1", b)
                    for b in bodies[start : start + 1000]
                ])  # fmt: skip
        worker = Worker(
            storage.db,
            storage.spool,
            WorkerConfig(niceness=0, pool=PoolConfig(processes=processes)),
        )
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall, cpu, idle = time.perf_counter(), time.process_time(), idle_cpu_seconds()
        while worker.run_once():
            pass
        wall, cpu, idle = (
            time.perf_counter() - wall,
            time.process_time() - cpu,
            idle_cpu_seconds() - idle,
        )
        helped = worker._pool.by_helpers
        worker.close()  # the helpers exit: their CPU time is counted
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        helpers = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        storage.dispose()
    return wall, cpu, helpers, idle, helped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payload", choices=PAYLOAD_NAMES, default="error")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    payload = build_payloads()[args.payload]
    raw = gzip.decompress(payload.body)
    tune_garbage_collector(WorkerConfig().gc_threshold)
    bodies = [gzip.compress(fresh_raw(raw, payload.event_id), 1) for _ in range(args.events)]
    rates: dict[int, list[float]] = {0: [], args.processes: []}
    for _ in range(args.rounds):
        for processes in rates:
            wall, cpu, helpers, idle, helped = drain_seconds(bodies, processes)
            rates[processes].append(args.events / wall)
            print(
                f"{args.payload} helpers={processes}: {args.events / wall:.0f} envelopes/s"
                f" ({wall:.1f} s wall; CPU per envelope: worker {cpu / args.events * 1000:.2f}"
                f" ms, helpers {helpers / args.events * 1000:.2f} ms;"
                f" {helped / args.events:.0%} by helpers; cores idle {idle / wall:.0%} of the"
                f" time, on average)",
                flush=True,
            )
    best = {p: max(r) for p, r in rates.items()}
    print(f"{args.payload}: best {best[args.processes] / best[0]:.2f}x with {args.processes}")


if __name__ == "__main__":
    main()

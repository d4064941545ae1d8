"""The server's CPU per accepted request over real HTTP, at a fixed arrival rate.

    uv run python bench/ingest_http_cpu.py --payload error --rate 400 --duration 10

Starts `vedette serve` on SQLite with the worker off (bench/servers.py), offers ``--rate``
requests/s with bench/loadgen.py (open loop, so old and new code get the same work whatever
their latency), and reads the server process's CPU from /proc before and after: all threads,
and the main thread alone, which runs the event loop (uvicorn, the endpoints) while the spool
writer's thread commits. A rate the server keeps up with makes the figures comparable; the
accepted count says whether it did. Run it from a worktree of older code to compare: the server
is ``python -m vedette`` of the interpreter that runs this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

from payloads import PAYLOAD_NAMES
from servers import start_vedette

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(stat_path: Path) -> float:
    """utime + stime of /proc/.../stat (the fields after the command's closing parenthesis)."""
    fields = stat_path.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payload", choices=PAYLOAD_NAMES, default="error")
    parser.add_argument("--rate", type=float, default=400.0)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()

    running = start_vedette("sqlite", extra_env={"VEDETTE_WORKER_ENABLED": "false"})
    try:
        pid = running.processes[0].pid
        process, main_thread = Path(f"/proc/{pid}/stat"), Path(f"/proc/{pid}/task/{pid}/stat")
        before = cpu_seconds(process), cpu_seconds(main_thread)
        cmd = [sys.executable, str(Path(__file__).with_name("loadgen.py")), "--json",
               "--payload", args.payload, "--rate", str(args.rate),
               "--duration", str(args.duration), "--dsn", running.dsns[0]]  # fmt: skip
        result = json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)
        used = cpu_seconds(process) - before[0], cpu_seconds(main_thread) - before[1]
    finally:
        running.close()
    accepted = result["accepted"]
    latency = result["latency_ms"]
    print(
        f"{args.payload} at {args.rate:g}/s: {accepted} accepted ({result['statuses']}),"
        f" {used[0] / accepted * 1e3:.3f} ms CPU per request (process),"
        f" {used[1] / accepted * 1e3:.3f} ms (main thread),"
        f" p50/p99 {latency['p50']}/{latency['p99']} ms"
    )


if __name__ == "__main__":
    main()

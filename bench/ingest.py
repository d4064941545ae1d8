"""Ingest and digest benchmark: a live `vedette serve`, the load generator, and the spool lag.

    uv run python bench/ingest.py --payload error --concurrency 8 --duration 10
    uv run python bench/ingest.py --database postgresql+psycopg://postgres@127.0.0.1/bench

Starts a fresh server (SQLite in a temporary directory unless --database is given), replays
real-SDK envelopes with bench/loadgen.py, then waits until the worker has digested every
accepted event. Prints accepted events/s, latency percentiles, digested events/s (from the
first request to an empty spool) and the spool depth sampled once a second.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], env: dict[str, str]) -> str:
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payload", default="error", choices=["error", "transaction", "mix"])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--database", default=None, help="database URL (default: fresh SQLite)")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="vedette-bench-")
    env = {
        **os.environ,
        "VEDETTE_DATA_DIR": data_dir,
        "VEDETTE_BASE_URL": f"http://127.0.0.1:{args.port}",
    }
    if args.database:
        env["VEDETTE_DATABASE_URL"] = args.database
    python = sys.executable
    dsn = run([python, "-m", "vedette", "project", "create", "bench", "--org", "bench"], env).splitlines()[-1]
    token = run([python, "-m", "vedette", "token", "create"], env).splitlines()[-1]
    server = subprocess.Popen(
        [python, "-m", "vedette", "serve", "--port", str(args.port), "--log-level", "warning"],
        env=env, start_new_session=True,
    )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=10)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if client.get("/_health/").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        depths: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                depths.append(client.get("/api/0/internal/spool/", headers=headers).json()["depth"])
                stop.wait(1.0)

        sampler = threading.Thread(target=sample)
        started = time.monotonic()
        sampler.start()
        load = [python, str(ROOT / "bench" / "loadgen.py"), "--dsn", dsn, "--payload", args.payload,
                "--duration", str(args.duration), "--json"]  # fmt: skip
        load += ["--rate", str(args.rate)] if args.rate else ["--concurrency", str(args.concurrency)]
        result = json.loads(run(load, env))
        while client.get("/api/0/internal/spool/", headers=headers).json()["depth"] > 0:
            time.sleep(0.2)
        digested_at = time.monotonic() - started
        stop.set()
        sampler.join()
        result["digest_seconds"] = round(digested_at, 2)
        result["digested_per_s"] = round(result["accepted"] / digested_at, 1)
        result["spool_depth_per_second"] = depths
        result["database"] = "postgresql" if args.database else "sqlite"
        print(json.dumps(result, indent=2))
    finally:
        server.terminate()
        server.wait(30)
        client.close()


if __name__ == "__main__":
    main()

"""Ingest and digest, side by side: the same load against several servers in one run.

    uv run python bench/compare.py --payload error --concurrency 8 --duration 10 --rounds 2 \\
        --targets null-asgi,null-starlette,sqlite,pg1,pg2,bugsink
    uv run python bench/compare.py --payload error --rate 1000 --targets null-asgi,sqlite
    uv run python bench/compare.py --payload transaction --targets sqlite,pg1,pg2
    uv run python bench/compare.py --payload log --targets null-asgi,sqlite,pg1

Targets: ``null-asgi`` / ``null-starlette`` (bench/nullapp.py, the HTTP ceiling), ``sqlite``
(`vedette serve` on SQLite), ``pg1`` / ``pg2`` (one or two `vedette serve` processes on one
PostgreSQL database, the load split between them), ``bugsink`` (bench/bugsink.py).

Each target is started fresh, loaded by bench/loadgen.py (a separate process: its CPU is part
of every figure, as it is for every target), then watched until every accepted event is stored
("digested": a row in the server's events table, so queryable; for ``--payload log``, 100 rows
of its log_records table per accepted envelope, and the rates are also given in logs/s).
For Vedette, the spool's depth (unprocessed envelopes) when the load starts, when it ends,
and the largest seen in between (sampled once a second): at a fixed ``--rate`` a server keeps
up when its spool does not grow. Rounds repeat the targets in the same order; ratios are taken
within a round, since absolute figures drift with whatever else runs on the machine. Prints one
JSON object per target and round, then a Markdown table.

Beside each target: the resident memory of all its processes (bench/proctree.py) when idle
(started, before the load) and at its peak (sampled every 0.2 s until everything is stored),
and, for servers that digest, the CPU its digesting process used per envelope stored (Vedette's
worker, Bugsink's snappea) as a multiple of bench/floor.py's floor for the same payload,
measured right after that target's run: a second Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from floor import floor_seconds
from floor import shapes as floor_shapes
from payloads import LOG_RECORDS, PAYLOAD_NAMES
from proctree import PeakMemory, cpu_seconds, descendants, digesters, rss_bytes
from servers import STORED_EVENTS, STORED_LOGS, Running, start_null, start_vedette

ROOT = Path(__file__).resolve().parents[1]


def starters(payload: str = "error") -> dict[str, Callable[[], Running]]:
    def bugsink() -> Running:
        from bugsink import start_bugsink

        return start_bugsink()

    sql = STORED_LOGS if payload == "log" else STORED_EVENTS
    return {
        "null-asgi": lambda: start_null("asgi"),
        "null-starlette": lambda: start_null("starlette"),
        "sqlite": lambda: start_vedette("sqlite", stored_sql=sql),
        "pg1": lambda: start_vedette("postgresql", 1, stored_sql=sql),
        "pg2": lambda: start_vedette("postgresql", 2, stored_sql=sql),
        "bugsink": bugsink,
    }


def load(running: Running, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, str(ROOT / "bench" / "loadgen.py"), "--payload", args.payload,
           "--duration", str(args.duration), "--json"]  # fmt: skip
    for dsn in running.dsns:
        cmd += ["--dsn", dsn]
    cmd += ["--rate", str(args.rate)] if args.rate else ["--concurrency", str(args.concurrency)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out))


def measure(running: Running, args: argparse.Namespace) -> dict[str, Any]:
    """Load it, then wait until everything accepted is stored; sample the lag once a second."""
    count = running.stored
    if count is None:  # the null apps store nothing
        return {**load(running, args), "target": running.name}
    samples: list[dict[str, float]] = []
    stop = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            point: dict[str, float] = {"t": round(time.monotonic() - started, 1)}
            try:
                point["stored"] = count()
                if running.spool_depth is not None:
                    point["spool"] = running.spool_depth()
            except Exception:  # a busy server may miss a sample; the series says so
                point["missed"] = 1
            samples.append(point)
            stop.wait(1.0)

    depth_at_start = running.spool_depth() if running.spool_depth is not None else None
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = load(running, args)
    load_done = time.monotonic() - started
    if depth_at_start is not None and running.spool_depth is not None:
        result["spool_depth"] = spool_depths(
            depth_at_start, samples, load_done, running.spool_depth()
        )
    per_envelope = LOG_RECORDS if args.payload == "log" else 1
    accepted = result["accepted"] * per_envelope
    stored = count()
    last_progress, last_stored = time.monotonic(), stored
    while stored < accepted:
        time.sleep(0.2)
        stored = count()
        if stored > last_stored:
            last_progress, last_stored = time.monotonic(), stored
        elif time.monotonic() - last_progress > args.stall_seconds:
            break  # no progress: report what was stored
    digest_done = time.monotonic() - started
    stop.set()
    sampler.join()
    result.update(
        target=running.name,
        load_seconds=round(load_done, 2),
        stored=stored,
        digest_seconds=round(digest_done, 2),
        digested_per_s=round(stored / digest_done, 1) if accepted else 0.0,
        lag=samples,
    )
    if per_envelope != 1:  # rows are log records: digested_per_s is logs/s
        result.update(stored_expected=accepted, digested_envelopes_per_s=round(
            result["digested_per_s"] / per_envelope, 1))  # fmt: skip
    if running.storage_bytes is not None:
        result["storage_bytes"] = running.storage_bytes()
    return result


def spool_depths(
    start: int, samples: list[dict[str, float]], load_done: float, end: int
) -> dict[str, int]:
    """The spool's depth when the load started and when it ended, and the largest seen in
    between (sampled once a second): at a fixed rate the server keeps up if the spool does not
    grow."""
    during = [int(p["spool"]) for p in samples if "spool" in p and p["t"] <= load_done]
    return {"start": start, "end_of_load": end, "peak": max([start, end, *during])}


def measure_with_resources(running: Running, args: argparse.Namespace) -> dict[str, Any]:
    """``measure``, plus the tree's idle and peak memory and the digest's CPU vs the floor."""
    roots = [process.pid for process in running.processes]
    time.sleep(args.settle_seconds)  # the worker starts after the server answers
    idle = rss_bytes(descendants(roots))
    digesting = digesters(roots)
    cpu_before = cpu_seconds(digesting)
    with PeakMemory(lambda: descendants(roots)) as memory:
        result = measure(running, args)
    mib = 1024 * 1024
    result.update(rss_idle_mib=round(idle / mib, 1), rss_peak_mib=round(memory.peak / mib, 1))
    if digesting and result.get("stored"):
        shapes = floor_shapes(args.payload)
        envelopes = result["stored"] / shapes[0].records
        digest = (cpu_seconds(digesting) - cpu_before) / envelopes
        floor = floor_seconds(shapes)
        result.update(
            digest_cpu_ms=round(digest * 1000, 3),
            floor_cpu_ms=round(floor * 1000, 3),
            digest_x_floor=round(digest / floor, 2),
        )
    return result


def resources_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| round | target | idle RSS MiB | peak RSS MiB | digest CPU ms per envelope |"
        " floor ms | x floor |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['round']} | {r['target']} | {r.get('rss_idle_mib', '')} |"
            f" {r.get('rss_peak_mib', '')} | {r.get('digest_cpu_ms', '')} |"
            f" {r.get('floor_cpu_ms', '')} | {r.get('digest_x_floor', '')} |"
        )
    return "\n".join(lines)


def table(results: list[dict[str, Any]], per_envelope: int = 1) -> str:
    """``per_envelope`` > 1: log envelopes; accepted/s is envelopes/s, with logs/s beside it,
    and digested/s and stored are log records."""
    lines = [
        "| round | target | accepted/s | vs null-asgi | p50 / p95 / p99 ms | statuses |"
        " digested/s | stored / accepted | spool at start / end of load / peak |",
        "| ---: | --- | ---: | ---: | --- | --- | ---: | --- | --- |",
    ]
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for r in results:
        by_round.setdefault(r["round"], {})[r["target"]] = r
    for r in results:
        ceiling = by_round[r["round"]].get("null-asgi")
        ratio = (
            f"{r['accepted_per_s'] / ceiling['accepted_per_s']:.2f}"
            if ceiling and ceiling["accepted_per_s"]
            else ""
        )
        lat = r["latency_ms"]
        digested = "" if r["target"].startswith("null") else f"{r['digested_per_s']}"
        expected = r["accepted"] * per_envelope
        stored = "" if r["target"].startswith("null") else f"{r['stored']} / {expected}"
        accepted = f"{r['accepted_per_s']}"
        if per_envelope != 1:
            accepted += f" ({r['accepted_per_s'] * per_envelope:,.0f} logs/s)"
            digested += " logs/s" if digested else ""
        depth = r.get("spool_depth")
        spool = f"{depth['start']} / {depth['end_of_load']} / {depth['peak']}" if depth else ""
        lines.append(
            f"| {r['round']} | {r['target']} | {accepted} | {ratio} |"
            f" {lat['p50']} / {lat['p95']} / {lat['p99']} | {r['statuses']} | {digested} |"
            f" {stored} | {spool} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", default="null-asgi,sqlite")
    parser.add_argument("--payload", choices=[*PAYLOAD_NAMES, "mix"], default="error")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--stall-seconds", type=float, default=60.0)
    parser.add_argument(
        "--settle-seconds", type=float, default=5.0, help="wait before the idle memory reading"
    )
    parser.add_argument("--out", type=Path, default=None, help="append JSON lines here")
    args = parser.parse_args()

    available = starters(args.payload)
    names = args.targets.split(",")
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"unknown targets {unknown}; choose from {sorted(available)}")
    results: list[dict[str, Any]] = []
    for round_no in range(1, args.rounds + 1):
        for name in names:
            try:
                running = available[name]()
            except Exception as exc:  # e.g. Bugsink could not be installed: say so, go on
                print(json.dumps({"round": round_no, "target": name, "error": str(exc)}))
                continue
            try:
                result = {"round": round_no, **measure_with_resources(running, args)}
            finally:
                running.close()
            results.append(result)
            print(json.dumps(result), flush=True)
            if args.out is not None:
                with args.out.open("a") as out:
                    out.write(json.dumps(result) + "\n")
    print()
    print(table(results, LOG_RECORDS if args.payload == "log" else 1))
    print()
    print(resources_table(results))


if __name__ == "__main__":
    main()

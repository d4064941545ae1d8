"""Where ingest and digest spend their time, in-process (no sockets, no load generator).

    uv run --with pyinstrument python bench/hotspots.py ingest --requests 3000
    uv run --with pyinstrument python bench/hotspots.py digest --events 300
    uv run python bench/hotspots.py digest --events 300 --no-profile   # timing only

``ingest`` drives the real app (`create_app`, worker off, SQLite spool in a temporary
directory) with raw ASGI calls, ``--concurrency`` at a time, so the figure is the server
process's CPU per request: Starlette, decoding, envelope parsing, authentication and the
spool's group commit. ``digest`` runs the worker's path for fresh copies of the real-SDK
envelope: parse, process (normalise, scrub, group, title) and store in batches of 200, then
bench/floor.py's floor for the same payload in the same process, and the digest's cost as a
multiple of it (``--payload errors``: every error shape in turn).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import gzip
import os
import sys
import tempfile
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from floor import floor_seconds
from ingest_profile import ingest_app, post_all
from payloads import PAYLOAD_NAMES, Payload, build_payloads

from vedette.cli import SERVER_GC_THRESHOLD
from vedette.domain.envelope import parse_envelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.settings import Settings
from vedette.spool.gc_tuning import tune_garbage_collector
from vedette.spool.worker import WorkerConfig
from vedette.storage import accounts
from vedette.storage.ingest_store import store_processed
from vedette.storage.migrate import upgrade
from vedette.stores import open_storage


def profiler(enabled: bool) -> tuple[AbstractContextManager[Any], Any]:
    if not enabled:
        return nullcontext(), None
    from pyinstrument import Profiler

    p = Profiler(interval=0.0005)
    return p, p


def fresh_raw(raw: bytes, event_id: str) -> bytes:
    return raw.replace(event_id.encode(), uuid.uuid4().hex.encode())


async def _ingest(app: Any, bodies: list[bytes], path: str, auth: str, concurrency: int) -> int:
    headers = [
        (b"host", b"127.0.0.1:8000"), (b"content-type", b"application/x-sentry-envelope"),
        (b"content-encoding", b"gzip"), (b"x-sentry-auth", auth.encode()),
    ]  # fmt: skip
    return await post_all(app, bodies, path, headers, concurrency)


def ingest(args: argparse.Namespace) -> None:
    if args.payload == "errors":
        raise SystemExit("ingest takes one payload (--payload errors is for digest)")
    payload = build_payloads()[args.payload]
    raw = gzip.decompress(payload.body)
    bodies = [gzip.compress(fresh_raw(raw, payload.event_id), 6) for _ in range(args.requests)]
    with tempfile.TemporaryDirectory() as tmp:
        app, project_id, key = ingest_app(Path(tmp))
        if args.gc == "worker":  # as `vedette serve` runs
            tune_garbage_collector(SERVER_GC_THRESHOLD)
        auth = f"Sentry sentry_key={key}, sentry_version=7"
        path = f"/api/{project_id}/envelope/"

        async def run() -> tuple[float, float, int]:
            async with app.router.lifespan_context(app):
                await _ingest(app, bodies[:200], path, auth, args.concurrency)  # warm up
                context, prof = profiler(args.profile)
                with context:
                    wall, cpu = time.perf_counter(), time.process_time()
                    ok = await _ingest(app, bodies[200:], path, auth, args.concurrency)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                if prof is not None:
                    print(prof.output_text(unicode=False, color=False))
                return wall, cpu, ok

        wall, cpu, ok = asyncio.run(run())
    n = len(bodies) - 200
    print(
        f"ingest {args.payload}: {ok}/{n} accepted; {n / wall:.0f} requests/s in-process,"
        f" {cpu / n * 1000:.3f} ms CPU per request (all threads)"
    )


def digest(args: argparse.Namespace) -> None:
    built = build_payloads()
    error_shapes = [n for n in PAYLOAD_NAMES if n.startswith("error")]
    for name in error_shapes if args.payload == "errors" else [args.payload]:
        digest_one(args, built[name])


def digest_one(args: argparse.Namespace, payload: Payload) -> None:
    raw = gzip.decompress(payload.body)
    config = ProcessingConfig()
    envelopes = [fresh_raw(raw, payload.event_id) for _ in range(args.events + 50)]
    if args.gc == "worker":  # as the worker process runs
        tune_garbage_collector(WorkerConfig().gc_threshold)
    for data in envelopes[:50]:  # warm the caches as a running worker has them
        process_envelope(parse_envelope(data), time.time(), "127.0.0.1", config)
    with tempfile.TemporaryDirectory() as tmp:
        storage = open_storage(Settings(data_dir=Path(tmp)))
        upgrade(storage.db)
        with storage.db.write() as conn:
            project_id = accounts.create_project(conn, "bench", "bench").id
        context, prof = profiler(args.profile)
        process_s = store_s = 0.0
        gc_clock = _GcClock()
        with context, gc_clock:
            todo = envelopes[50:]
            for start in range(0, len(todo), 200):
                t0 = time.process_time()
                batch = [
                    (project_id, process_envelope(parse_envelope(d), time.time(), None, config))
                    for d in todo[start : start + 200]
                ]
                t1 = time.process_time()
                with storage.db.write() as conn:
                    store_processed(conn, batch)
                process_s += t1 - t0
                store_s += time.process_time() - t1
        storage.dispose()
    if prof is not None:
        print(prof.output_text(unicode=False, color=False))
    n = args.events
    print(
        f"digest {payload.name}: process {process_s / n * 1000:.2f} ms + store"
        f" {store_s / n * 1000:.2f} ms CPU per envelope -> {n / (process_s + store_s):.0f}"
        f" envelopes/s ({n * payload.records / (process_s + store_s):.0f} {_unit(payload.name)})"
        f" on one core (of which garbage collection {gc_clock.seconds / n * 1000:.2f} ms)"
    )
    floor = floor_seconds([payload], max(n, 1000))
    print(
        f"  floor (bench/floor.py) {floor * 1000:.3f} ms CPU per envelope: the digest costs"
        f" {(process_s + store_s) / n / floor:.1f}x the floor"
    )


def _unit(payload: str) -> str:
    return "logs/s" if payload == "log" else "events/s"


class _GcClock:
    """CPU time spent in the garbage collector while it is entered (a part of the totals)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started

    def __enter__(self) -> None:
        gc.callbacks.append(self._callback)

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["ingest", "digest"])
    parser.add_argument("--payload", default="error", choices=[*PAYLOAD_NAMES, "errors"])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument(
        "--gc",
        default="worker",
        choices=["worker", "default"],
        help="the garbage collector settings of the worker (digest) or server (ingest) process,"
        " or CPython's defaults",
    )
    args = parser.parse_args()
    ingest(args) if args.what == "ingest" else digest(args)


if __name__ == "__main__":
    main()

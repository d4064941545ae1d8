"""CPU per ingest request in the server process, split into the event loop's thread and the rest.

    uv run python bench/ingest_profile.py --payload error --requests 3000 --rounds 3
    uv run python bench/ingest_profile.py --endpoint store
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=/tmp/cg.%p \\
        uv run python bench/ingest_profile.py --requests 0   # then 1000: the difference / 1000

Like ``bench/hotspots.py ingest`` (the real ``create_app``, worker off, SQLite spool in a
temporary directory, raw ASGI calls ``--concurrency`` at a time, gzip bodies as the SDK sends
them), but it also reports the CPU of the thread that runs the event loop (``thread_time``):
that thread is what one core has to run for every request, while the spool writer's thread
spends most of its time in fsync. Run it from a worktree of older code to compare: it imports
whichever ``vedette`` the interpreter's environment has.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from payloads import PAYLOAD_NAMES, build_payloads

from vedette.app import create_app
from vedette.cli import SERVER_GC_THRESHOLD
from vedette.domain.envelope import parse_envelope
from vedette.settings import Settings
from vedette.spool.gc_tuning import tune_garbage_collector
from vedette.storage import accounts
from vedette.storage.migrate import upgrade
from vedette.stores import open_storage

WARM_UP = 200
# Distinct bodies built; the measured requests cycle through them. Building is the same work
# whatever --requests is, so two callgrind runs differ only by the requests.
POOL = 1000


def request_bodies(payload_name: str, endpoint: str, count: int) -> tuple[list[bytes], bytes]:
    """``count`` bodies with fresh event ids, and the content encoding they are sent with."""
    payload = build_payloads()[payload_name]
    raw = gzip.decompress(payload.body)
    if endpoint == "store":  # the event item alone, as JSON (legacy clients)
        raw = parse_envelope(raw).items[0].payload
    fresh = [
        raw.replace(payload.event_id.encode(), uuid.uuid4().hex.encode()) for _ in range(count)
    ]
    if endpoint == "store":
        return fresh, b""
    return [gzip.compress(body, 6) for body in fresh], b"gzip"


def ingest_app(data_dir: Path) -> tuple[Any, int, str]:
    """`create_app` on a new SQLite database in ``data_dir``, worker off, with one project:
    the app, the project's id and its public key."""
    settings = Settings(data_dir=data_dir, worker_enabled=False)
    storage = open_storage(settings)
    upgrade(storage.db)
    with storage.db.write() as conn:
        project = accounts.create_project(conn, "bench", "bench")
        key = accounts.keys_of_project(conn, project.id)[0].public_key
    storage.dispose()
    return create_app(settings), project.id, key


async def post_all(
    app: Any, bodies: list[bytes], path: str, headers: list[tuple[bytes, bytes]], concurrency: int
) -> int:
    """POST every body through the ASGI app, ``concurrency`` at a time; how many got a 200."""
    accepted = 0

    async def call(body: bytes) -> None:
        nonlocal accepted
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }  # fmt: skip
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal accepted
            if message["type"] == "http.response.start" and message["status"] == 200:
                accepted += 1

        await app(scope, receive, send)

    queue = list(bodies)

    async def client() -> None:
        while queue:
            await call(queue.pop())

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payload", choices=PAYLOAD_NAMES, default="error")
    parser.add_argument("--endpoint", choices=("envelope", "store"), default="envelope")
    parser.add_argument("--requests", type=int, default=3000, help="measured, after a warm-up")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="measured runs in one process")
    args = parser.parse_args()

    bodies, encoding = request_bodies(args.payload, args.endpoint, WARM_UP + POOL)
    with tempfile.TemporaryDirectory() as tmp:
        app, project_id, key = ingest_app(Path(tmp))
        tune_garbage_collector(SERVER_GC_THRESHOLD)  # as `vedette serve` runs
        headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/x-sentry-envelope"),
            (b"x-sentry-auth", f"Sentry sentry_key={key}, sentry_version=7".encode()),
            (b"user-agent", b"sentry.python/2.75.0"),
        ]
        if encoding:
            headers.append((b"content-encoding", encoding))
        path = f"/api/{project_id}/{args.endpoint}/"

        async def run() -> None:
            async with app.router.lifespan_context(app):
                await post_all(app, bodies[:WARM_UP], path, headers, args.concurrency)
                measured = [bodies[WARM_UP + i % POOL] for i in range(args.requests)]
                for _ in range(args.rounds):
                    if not measured:
                        break
                    cpu, loop_cpu = time.process_time(), time.thread_time()
                    wall = time.perf_counter()
                    ok = await post_all(app, measured, path, headers, args.concurrency)
                    wall = time.perf_counter() - wall
                    cpu, loop_cpu = time.process_time() - cpu, time.thread_time() - loop_cpu
                    n = len(measured)
                    print(
                        f"{args.endpoint} {args.payload}: {ok}/{n} accepted,"
                        f" {cpu / n * 1e3:.3f} ms CPU per request (process),"
                        f" {loop_cpu / n * 1e3:.3f} ms (event loop thread),"
                        f" {n / wall:.0f} requests/s",
                        flush=True,
                    )

        asyncio.run(run())


if __name__ == "__main__":
    main()

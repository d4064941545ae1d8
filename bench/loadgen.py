"""Load generator: replays real-SDK envelopes at a concurrency or a fixed arrival rate.

    uv run python bench/loadgen.py --dsn DSN --payload error --concurrency 8 --duration 10
    uv run python bench/loadgen.py --dsn DSN --payload error --rate 1000 --duration 10

A minimal HTTP/1.1 keep-alive client on asyncio streams: httpx would be the bottleneck on two
cores. Loopback only (the DSN must point at 127.0.0.1). Reports accepted events/s, status
codes and latency percentiles; ``--json`` prints the same as one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import statistics
import struct
import sys
import time
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(__file__))

from payloads import Payload, build_payloads  # noqa: E402


@dataclass
class Results:
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    accepted_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str
    auth: str


def parse_dsn(dsn: str) -> Target:
    parts = urlsplit(dsn)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load generator only targets loopback addresses")
    project_id = parts.path.rstrip("/").rpartition("/")[2]
    auth = f"Sentry sentry_key={parts.username}, sentry_version=7, sentry_client=vedette-bench/1"
    return Target(
        parts.hostname or "127.0.0.1", parts.port or 80, f"/api/{project_id}/envelope/", auth
    )


def request_head(target: Target, length: int) -> bytes:
    return (
        f"POST {target.path} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
        f"Content-Type: application/x-sentry-envelope\r\nContent-Encoding: gzip\r\n"
        f"X-Sentry-Auth: {target.auth}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _deflate_segment(data: bytes) -> bytes:
    """Raw deflate of ``data`` ending on a full flush: byte-aligned, no back-references out."""
    encoder = zlib.compressobj(6, zlib.DEFLATED, -15)
    return encoder.compress(data) + encoder.flush(zlib.Z_FULL_FLUSH)


class FreshIds:
    """Gzip bodies of one envelope, each with a new event id, at almost no CPU cost.

    The envelope is split at every occurrence of its event id; the fixed pieces are deflated
    once (each ending on a full flush, so they do not depend on what precedes them) and only
    the 32-byte ids are deflated per request. The result is one ordinary gzip member, as the
    SDK sends, that decompresses to the original envelope with the new id.
    """

    def __init__(self, payload: Payload) -> None:
        raw = gzip.decompress(payload.body)
        self.pieces = raw.split(payload.event_id.encode())
        self.fixed = [_deflate_segment(p) for p in self.pieces]
        self.raw_size = len(raw)

    def make(self) -> tuple[bytes, str]:
        event_id = uuid.uuid4().hex
        id_bytes = event_id.encode()
        id_block = _deflate_segment(id_bytes)
        parts = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", self.fixed[0]]
        crc = zlib.crc32(self.pieces[0])
        for piece, block in zip(self.pieces[1:], self.fixed[1:], strict=True):
            parts += [id_block, block]
            crc = zlib.crc32(piece, zlib.crc32(id_bytes, crc))
        parts.append(b"\x03\x00")  # an empty final block
        parts.append(struct.pack("<II", crc & 0xFFFFFFFF, self.raw_size & 0xFFFFFFFF))
        return b"".join(parts), event_id


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if length:
        await reader.readexactly(length)
    return status


class Connection:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, data: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.target.host, self.target.port
            )
        assert self.reader is not None
        self.writer.write(data)
        await self.writer.drain()
        return await read_response(self.reader)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def one(conn: Connection, makers: list[FreshIds], results: Results) -> None:
    body, event_id = random.choice(makers).make()
    data = request_head(conn.target, len(body)) + body
    started = time.perf_counter()
    try:
        status = await conn.send(data)
    except (OSError, asyncio.IncompleteReadError):
        results.errors += 1
        conn.close()
        return
    results.latencies.append(time.perf_counter() - started)
    results.statuses[status] += 1
    if status == 200:
        results.accepted_ids.append(event_id)


async def run_concurrency(
    target: Target, makers: list[FreshIds], concurrency: int, duration: float
) -> Results:
    results = Results()
    deadline = time.perf_counter() + duration

    async def loop() -> None:
        conn = Connection(target)
        while time.perf_counter() < deadline:
            await one(conn, makers, results)
        conn.close()

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return results


async def run_rate(target: Target, makers: list[FreshIds], rate: float, duration: float) -> Results:
    results = Results()
    idle: list[Connection] = []
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    sent = 0
    total = int(rate * duration)

    async def fire() -> None:
        conn = idle.pop() if idle else Connection(target)
        await one(conn, makers, results)
        idle.append(conn)

    while sent < total:
        due = start + sent / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(fire())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        sent += 1
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    return results


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--payload", choices=["error", "transaction", "mix"], default="error")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None, help="fixed arrival rate (requests/s)")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    target = parse_dsn(args.dsn)
    payloads = build_payloads()
    chosen = (
        [payloads["error"], payloads["transaction"]]
        if args.payload == "mix"
        else [payloads[args.payload]]
    )
    makers = [FreshIds(p) for p in chosen]
    if args.rate:
        results = asyncio.run(run_rate(target, makers, args.rate, args.duration))
    else:
        results = asyncio.run(run_concurrency(target, makers, args.concurrency, args.duration))
    accepted = results.statuses.get(200, 0)
    summary = {
        "payload": args.payload,
        "raw_bytes": {p.name: p.raw_size for p in chosen},
        "sent_bytes": {p.name: len(m.make()[0]) for p, m in zip(chosen, makers, strict=True)},
        "mode": f"rate {args.rate}/s" if args.rate else f"concurrency {args.concurrency}",
        "duration_s": args.duration,
        "accepted": accepted,
        "accepted_per_s": round(accepted / args.duration, 1),
        "statuses": dict(results.statuses),
        "errors": results.errors,
        "latency_ms": {
            "p50": round(percentile(results.latencies, 0.50) * 1000, 2),
            "p95": round(percentile(results.latencies, 0.95) * 1000, 2),
            "p99": round(percentile(results.latencies, 0.99) * 1000, 2),
            "mean": round(statistics.fmean(results.latencies) * 1000, 2)
            if results.latencies
            else None,
        },
    }
    print(json.dumps(summary, indent=None if args.json else 2))


if __name__ == "__main__":
    main()

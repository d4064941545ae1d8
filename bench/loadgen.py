"""Load generator: replays real-SDK envelopes at a concurrency or a fixed arrival rate.

    uv run python bench/loadgen.py --dsn DSN --payload error --concurrency 8 --duration 10
    uv run python bench/loadgen.py --dsn DSN --payload error --rate 1000 --duration 10
    uv run python bench/loadgen.py --dsn DSN1 --dsn DSN2 ...   # several servers, round robin

A minimal HTTP/1.1 keep-alive client on asyncio streams: httpx would be the bottleneck on two
cores. Loopback only (the DSN must point at 127.0.0.1). Reports accepted events/s, status
codes and latency percentiles; ``--json`` prints the same as one JSON object. With several
DSNs, connections (concurrency mode) or requests (rate mode) alternate between them; each
envelope's ``dsn`` header names the server it is sent to.
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

from payloads import CAPTURE_DSN, PAYLOAD_NAMES, Payload, build_payloads


@dataclass
class Results:
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    accepted_ids: list[str] = field(default_factory=list)
    # Rate mode: how far behind schedule the generator itself sent (its own CPU is shared).
    send_lag: list[float] = field(default_factory=list)


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

    def __init__(self, payload: Payload, dsn: str | None = None) -> None:
        raw = gzip.decompress(payload.body)
        if dsn is not None:  # only in the envelope header: item lengths must stay true
            header, newline, rest = raw.partition(b"\n")
            raw = header.replace(CAPTURE_DSN.encode(), dsn.encode()) + newline + rest
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


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status, and whether the server keeps the connection open (gunicorn's sync workers,
    which Bugsink runs on, answer ``Connection: close``)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    keep_alive = True
    for line in lines[1:]:
        lowered = line.lower()
        if lowered.startswith(b"content-length:"):
            length = int(line.split(b":")[1])
        elif lowered.startswith(b"connection:") and b"close" in lowered:
            keep_alive = False
    if length:
        await reader.readexactly(length)
    return status, keep_alive


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
        status, keep_alive = await read_response(self.reader)
        if not keep_alive:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def one(conn: Connection, makers: list[FreshIds], results: Results) -> None:
    """One request on ``conn``; ``makers`` are the payloads for that connection's server."""
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


Servers = list[tuple[Target, list[FreshIds]]]


async def run_concurrency(servers: Servers, concurrency: int, duration: float) -> Results:
    results = Results()
    deadline = time.perf_counter() + duration

    async def loop(index: int) -> None:
        target, makers = servers[index % len(servers)]
        conn = Connection(target)
        while time.perf_counter() < deadline:
            await one(conn, makers, results)
        conn.close()

    await asyncio.gather(*(loop(i) for i in range(concurrency)))
    return results


async def run_rate(servers: Servers, rate: float, duration: float) -> Results:
    results = Results()
    idle: list[list[Connection]] = [[] for _ in servers]
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    sent = 0
    total = int(rate * duration)

    async def fire(index: int) -> None:
        target, makers = servers[index]
        conn = idle[index].pop() if idle[index] else Connection(target)
        await one(conn, makers, results)
        idle[index].append(conn)

    while sent < total:
        due = start + sent / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        results.send_lag.append(time.perf_counter() - due)
        task = asyncio.create_task(fire(sent % len(servers)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        sent += 1
    await asyncio.gather(*tasks)
    for conns in idle:
        for conn in conns:
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
    parser.add_argument("--dsn", required=True, action="append", help="repeat for several servers")
    parser.add_argument("--payload", choices=[*PAYLOAD_NAMES, "mix"], default="error")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None, help="fixed arrival rate (requests/s)")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    payloads = build_payloads()
    chosen = (
        [payloads["error"], payloads["transaction"]]
        if args.payload == "mix"
        else [payloads[args.payload]]
    )
    servers = [(parse_dsn(dsn), [FreshIds(p, dsn) for p in chosen]) for dsn in args.dsn]
    makers = servers[0][1]
    started = time.perf_counter()
    if args.rate:
        results = asyncio.run(run_rate(servers, args.rate, args.duration))
    else:
        results = asyncio.run(run_concurrency(servers, args.concurrency, args.duration))
    # Until the last answer: at a fixed rate beyond capacity that is well past --duration.
    elapsed = time.perf_counter() - started
    accepted = results.statuses.get(200, 0)
    summary = {
        "payload": args.payload,
        "raw_bytes": {p.name: p.raw_size for p in chosen},
        "sent_bytes": {p.name: len(m.make()[0]) for p, m in zip(chosen, makers, strict=True)},
        "mode": f"rate {args.rate}/s" if args.rate else f"concurrency {args.concurrency}",
        "duration_s": args.duration,
        "elapsed_s": round(elapsed, 2),
        "accepted": accepted,
        "accepted_per_s": round(accepted / elapsed, 1),
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
    if results.send_lag:
        summary["send_lag_ms"] = {
            "p50": round(percentile(results.send_lag, 0.50) * 1000, 2),
            "p99": round(percentile(results.send_lag, 0.99) * 1000, 2),
        }
    print(json.dumps(summary, indent=None if args.json else 2))


if __name__ == "__main__":
    main()

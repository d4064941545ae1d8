"""The digest floor: the least the worker's job costs in plain Python on this machine, now.

    uv run python bench/floor.py                      # every payload shape
    uv run python bench/floor.py --payload error-varied --events 4000

For each envelope of a payload (a fresh event id each, made before the clock starts): split the
envelope into its items, parse each event, transaction or log item with orjson, touch every
frame, span and log record (read one key of each), serialise the item again, zstd-compress it
and insert it into SQLite (WAL, ``synchronous=NORMAL``) in batches of 200 rows, one transaction
per batch; a log item is a row per record, as Vedette stores logs. No normalising, scrubbing,
grouping, issues, counters or indexes: whatever Vedette does beyond this is its own cost.

The figure is CPU time per envelope on the calling thread. bench/hotspots.py and
bench/compare.py run it beside their own measurement and report Vedette's digest cost as a
multiple of it, since absolute figures on this shared machine drift by up to 3x.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import zstandard

sys.path.insert(0, os.path.dirname(__file__))

from payloads import PAYLOAD_NAMES, Payload, build_payloads

BATCH = 200
STORED_TYPES = {b"event", b"transaction", b"log"}


def fresh_envelopes(payloads: list[Payload], count: int) -> list[bytes]:
    """``count`` raw envelopes, the payloads in turn, each with a new event id."""
    raws = [(gzip.decompress(p.body), p.event_id.encode()) for p in payloads]
    return [
        raws[i % len(raws)][0].replace(raws[i % len(raws)][1], uuid.uuid4().hex.encode())
        for i in range(count)
    ]


def items(envelope: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of each item of a raw envelope."""
    _header, _, rest = envelope.partition(b"\n")
    while rest:
        line, _, rest = rest.partition(b"\n")
        if not line.strip():
            continue
        item_header = orjson.loads(line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length + 1 :]
        yield str(item_header.get("type", "")).encode(), payload


def touch(event: dict[str, Any]) -> int:
    """Read one key of every frame (exceptions and threads), span and log record."""
    seen = 0
    for section in ("exception", "threads"):
        for value in (event.get(section) or {}).get("values") or ():
            for frame in (value.get("stacktrace") or {}).get("frames") or ():
                seen += frame.get("lineno") is not None
    for span in event.get("spans") or ():
        seen += span.get("span_id") is not None
    for record in event.get("items") or ():  # a log item
        seen += record.get("body") is not None
    return seen


def rows_of(envelope: bytes, compressor: zstandard.ZstdCompressor) -> Iterator[bytes]:
    for kind, payload in items(envelope):
        if kind not in STORED_TYPES:
            continue
        data = orjson.loads(payload)
        touch(data)
        if kind == b"log":
            for record in data.get("items") or ():
                yield compressor.compress(orjson.dumps(record))
        else:
            yield compressor.compress(orjson.dumps(data))


def floor_seconds(payloads: list[Payload], envelopes: int = 2000) -> float:
    """CPU seconds per envelope for the floor's work (the payloads in turn)."""
    todo = fresh_envelopes(payloads, envelopes)
    compressor = zstandard.ZstdCompressor(level=3)
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "floor.sqlite3", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, project_id INT, data BLOB)")
        started = time.thread_time()
        pending: list[tuple[int, bytes]] = []
        for envelope in todo:
            pending.extend((1, row) for row in rows_of(envelope, compressor))
            if len(pending) >= BATCH:
                _insert(conn, pending)
                pending = []
        if pending:
            _insert(conn, pending)
        seconds = time.thread_time() - started
        conn.close()
    return seconds / len(todo)


def _insert(conn: sqlite3.Connection, rows: list[tuple[int, bytes]]) -> None:
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO events (project_id, data) VALUES (?, ?)", rows)
    conn.execute("COMMIT")


def shapes(name: str, built: dict[str, Payload] | None = None) -> list[Payload]:
    """The payloads a ``--payload`` name stands for (``mix``: error and transaction)."""
    built = built or build_payloads()
    return [built["error"], built["transaction"]] if name == "mix" else [built[name]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payload", choices=[*PAYLOAD_NAMES, "mix", "all"], default="all")
    parser.add_argument("--events", type=int, default=2000, help="envelopes per shape")
    args = parser.parse_args()
    built = build_payloads()
    names = PAYLOAD_NAMES if args.payload == "all" else (args.payload,)
    for name in names:
        seconds = floor_seconds(shapes(name, built), args.events)
        print(
            f"floor {name}: {seconds * 1e6:.0f} us CPU per envelope -> {1 / seconds:,.0f}/s"
            " on one core"
        )


if __name__ == "__main__":
    main()

"""Packing finished days of the duration histograms: many detailed rows into one.

The worker adds to ``perf_day_histograms`` one row per (project, kind, name, day, environment,
release, bucket) with ``ON CONFLICT DO UPDATE``. A 14-day percentile over 50 span groups read
about 260,000 such rows at 1 M spans, and reading them was most of its time
(docs/benchmarks.md). Once a day is over, the housekeeping (``retention.cleanup``, every hour
in the worker) moves its detailed rows into packs whose ``buckets`` hold every (bucket, count)
pair: ``perf_day_histogram_packs``, one row per (project, kind, name, day, environment,
release), about 50 rows in one, for windows filtered by environment or release; and
``perf_day_histogram_packs_all``, one row per (project, kind, name, day) for all of them
together, which unfiltered windows read (650 rows with 139,000 pairs for the slow queries'
14 days at 1 M spans, against 4,200 rows with 240,000 pairs). The worker's write path does
not change.

Reads add the packs to whatever detailed day rows remain, so nothing depends on a day being
packed or not, and spans that arrive late for a packed day are counted from their detailed
rows until the next run merges them into the packs.

Each batch is one transaction that deletes detailed rows with ``RETURNING`` and adds exactly
the counts it deleted to the packs: a crash leaves either the rows or the pack holding them,
never both, and a row the worker updated after the batch read it cannot be deleted with a count
the pack did not get. Batches are short, so on SQLite the worker's writes wait for one batch at
most; running again does nothing until new rows arrive (idempotent). On PostgreSQL a
transaction-scoped advisory lock keeps two workers from merging into the same pack at once.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, any_, func, literal_column, select

from vedette.storage.database import Database
from vedette.storage.dialect import insert_for
from vedette.storage.schema import (
    perf_day_histogram_packs,
    perf_day_histogram_packs_all,
    perf_day_histograms,
)

DAY = 86400
# A day is packed once it has been over for this long: spans still in the spool at midnight
# mostly land before it, instead of each adding detailed rows to be packed again next run.
SETTLE_SECONDS = 3600.0
DEFAULT_BATCH = 5000  # detailed rows per transaction
# pg_advisory_xact_lock's key for packing (any constant of our own).
_PG_LOCK = 0x7665_6474_6870  # "vedthp"

_BUCKET = "i"  # int32: buckets run from about -700 (1 µs) to a few thousand
_COUNT = "q"  # int64, as the count column
_BIG_ENDIAN = sys.byteorder == "big"


def pack_buckets(buckets: Mapping[int, int]) -> bytes:
    """A histogram as stored in a pack: its buckets in ascending order as little-endian int32,
    then their counts in the same order as little-endian int64 (12 bytes a pair)."""
    ordered = sorted(buckets.items())
    indexes = array(_BUCKET, [b for b, _ in ordered])
    counts = array(_COUNT, [n for _, n in ordered])
    if _BIG_ENDIAN:
        indexes.byteswap()
        counts.byteswap()
    return indexes.tobytes() + counts.tobytes()


def unpack_buckets(packed: bytes) -> tuple[array[int], array[int]]:
    """The buckets and counts of a pack (``pack_buckets``), as two arrays of the same length."""
    pairs = len(packed) // 12
    split = pairs * 4
    indexes, counts = array(_BUCKET), array(_COUNT)
    indexes.frombytes(packed[:split])
    counts.frombytes(packed[split:])
    if _BIG_ENDIAN:
        indexes.byteswap()
        counts.byteswap()
    return indexes, counts


def merge_packed(target: dict[int, int], packed: bytes) -> None:
    """Add a pack's counts to ``target``."""
    indexes, counts = unpack_buckets(packed)
    get = target.get
    for index, count in zip(indexes, counts, strict=True):
        target[index] = get(index, 0) + count


@dataclass(frozen=True, slots=True)
class DayOfRows:
    """The detailed rows of one project's kind on one day: what a batch picks from."""

    project_id: int
    kind: str
    day: int


def days_to_pack(conn: Connection, now: float) -> list[DayOfRows]:
    """Days over for at least SETTLE_SECONDS that still have detailed rows (a walk of the
    (project_id, kind, day) index; after the first run the table holds about a day of rows)."""
    h = perf_day_histograms
    last = int((now - SETTLE_SECONDS) // DAY * DAY) - DAY  # the last day over by then
    rows = conn.execute(
        select(h.c.project_id, h.c.kind, h.c.day)
        .where(h.c.day <= last)
        .distinct()
        .order_by(h.c.project_id, h.c.kind, h.c.day)
    )
    return [DayOfRows(r.project_id, r.kind, r.day) for r in rows]


def pack_batch(conn: Connection, day: DayOfRows, batch: int) -> int:
    """Move up to ``batch`` detailed rows of that day into its packs, in the caller's
    transaction; returns how many rows were moved (0: the day is packed)."""
    h = perf_day_histograms
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK)))
    # The rows are picked by their physical id: deleting by a key ``IN (subquery)`` scanned the
    # whole table on both engines for each batch (SQLite searched its primary key by
    # project_id alone, PostgreSQL hash-joined a sequential scan). On PostgreSQL a row the
    # worker updates meanwhile gets a new ctid, so the delete skips it: it stays a detailed row.
    row_id: ColumnElement[Any] = literal_column("ctid" if postgres else "rowid")
    doomed = (
        select(row_id)
        .where(h.c.project_id == day.project_id, h.c.kind == day.kind, h.c.day == day.day)
        .limit(batch)
    )
    picked = (
        row_id == any_(func.array(doomed.scalar_subquery())) if postgres else row_id.in_(doomed)
    )
    moved = conn.execute(
        h.delete()
        .where(picked)
        .returning(h.c.name, h.c.environment, h.c.release, h.c.bucket, h.c.count)
    ).all()
    if not moved:
        return 0
    by_key: dict[tuple[str, ...], dict[int, int]] = {}
    by_name: dict[tuple[str, ...], dict[int, int]] = {}
    for name, environment, release, bucket, count in moved:
        for sums in (
            by_key.setdefault((name, environment, release), {}),
            by_name.setdefault((name,), {}),
        ):
            sums[bucket] = sums.get(bucket, 0) + count
    _add_to_packs(conn, perf_day_histogram_packs, day, by_key)
    _add_to_packs(conn, perf_day_histogram_packs_all, day, by_name)
    return len(moved)


def _add_to_packs(
    conn: Connection, packs: Table, day: DayOfRows, added: dict[tuple[str, ...], dict[int, int]]
) -> None:
    """Add these counts to the day's packs, keyed by the table's key columns after the day
    (name, environment and release; or name alone)."""
    keys = [c for c in packs.primary_key.columns if c.name not in ("project_id", "kind", "day")]
    earlier = conn.execute(
        select(*keys, packs.c.buckets).where(
            packs.c.project_id == day.project_id,
            packs.c.kind == day.kind,
            packs.c.day == day.day,
            packs.c.name.in_(sorted({key[0] for key in added})),
        )
    )
    for *key, packed in earlier:
        found = added.get(tuple(key))
        if found is not None:
            merge_packed(found, packed)
    statement = insert_for(conn, packs)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[c.name for c in packs.primary_key.columns],
            set_={"buckets": statement.excluded.buckets},
        ),
        [
            {
                "project_id": day.project_id,
                "kind": day.kind,
                "day": day.day,
                **dict(zip((c.name for c in keys), key, strict=True)),
                "buckets": pack_buckets(buckets),
            }
            for key, buckets in sorted(added.items())
        ],
    )


def pack_finished_days(db: Database, now: float, batch: int = DEFAULT_BATCH) -> int:
    """Pack every finished day's detailed histogram rows, one short transaction per batch;
    returns how many detailed rows were packed."""
    with db.read() as conn:
        days = days_to_pack(conn, now)
    return sum(_pack_day(db, day, batch) for day in days)


def _pack_day(db: Database, day: DayOfRows, batch: int) -> int:
    packed = 0
    while True:
        with db.write() as conn:
            moved = pack_batch(conn, day, batch)
        packed += moved
        if moved < batch:
            return packed

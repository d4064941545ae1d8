"""Packing finished days and hours of the duration histograms: many detailed rows into one.

The worker adds to ``perf_day_histograms`` and ``perf_hour_histograms`` one row per (project,
kind, name, period, environment, release, bucket) with ``ON CONFLICT DO UPDATE``. A 14-day
percentile over 50 span groups read about 260,000 such day rows at 1 M spans, and reading them
was most of its time (docs/benchmarks.md); once days were packed, the hours at the window's
edges (up to 46 of them, 201,508 rows at 10 M spans) were. Once a period is over, the
housekeeping (``retention.cleanup``, every hour in the worker) moves its detailed rows into
packs whose ``buckets`` hold every (bucket, count) pair: ``perf_<period>_histogram_packs``, one
row per (project, kind, name, period, environment, release), for windows filtered by
environment or release; and ``perf_<period>_histogram_packs_all``, one row per (project, kind,
name, period) for all of them together, which unfiltered windows read (650 day rows with
139,000 pairs for the slow queries' 13 whole days at 1 M spans, against 4,200 rows with
240,000 pairs). The worker's write path does not change: it writes a minute's counts into its
hour and day in the same transaction, so a period is complete once it is over, apart from
spans that arrive late.

Reads add the packs to whatever detailed rows remain, so nothing depends on a period being
packed or not, and spans that arrive late for a packed period are counted from their detailed
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
from vedette.storage.dialect import insert_for, transaction_lock
from vedette.storage.schema import (
    perf_day_histogram_packs,
    perf_day_histogram_packs_all,
    perf_day_histograms,
    perf_hour_histogram_packs,
    perf_hour_histogram_packs_all,
    perf_hour_histograms,
)

DEFAULT_BATCH = 5000  # detailed rows per transaction
# The transaction lock's key for packing (any constant of our own).
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
class Packing:
    """A period of the histogram rollups that is packed: its detailed rows, its two tables of
    packs, the name and length of its period, and how long after a period ends it is packed
    (spans still in the spool at its end mostly land before then, instead of each adding
    detailed rows to be packed again at the next run)."""

    detailed: Table
    packs: Table
    packs_all: Table
    column: str
    seconds: int
    settle: float

    def __repr__(self) -> str:  # test ids and reports
        return f"Packing({self.column})"


# A day is packed an hour after it ends, an hour ten minutes after (the worker writes a minute's
# counts into its hour and day at once, so both are complete when over, but for spans late from
# the spool). With the housekeeping running every hour, a window reads at most the last two or
# three hours and the running day as detailed rows.
PACKED_DAYS = Packing(
    perf_day_histograms, perf_day_histogram_packs, perf_day_histogram_packs_all, "day", 86400,
    settle=3600.0,
)  # fmt: skip
PACKED_HOURS = Packing(
    perf_hour_histograms, perf_hour_histogram_packs, perf_hour_histogram_packs_all, "hour", 3600,
    settle=600.0,
)  # fmt: skip
PACKINGS = (PACKED_DAYS, PACKED_HOURS)


def packing_of(detailed: Table) -> Packing | None:
    """The packing of a histogram rollup (None: the minutes, never packed)."""
    return next((p for p in PACKINGS if p.detailed is detailed), None)


@dataclass(frozen=True, slots=True)
class RowsToPack:
    """The detailed rows of one project's kind in one period: what a batch picks from."""

    packing: Packing
    project_id: int
    kind: str
    start: int


def periods_to_pack(conn: Connection, packing: Packing, now: float) -> list[RowsToPack]:
    """Periods over for at least ``packing.settle`` that still have detailed rows (a walk of
    the (project_id, kind, period) index; after the first run the table holds about one
    period of rows)."""
    h, column = packing.detailed, packing.detailed.c[packing.column]
    seconds = packing.seconds
    last = int((now - packing.settle) // seconds * seconds) - seconds  # the last one over then
    rows = conn.execute(
        select(h.c.project_id, h.c.kind, column)
        .where(column <= last)
        .distinct()
        .order_by(h.c.project_id, h.c.kind, column)
    )
    return [RowsToPack(packing, project_id, kind, start) for project_id, kind, start in rows]


def pack_batch(conn: Connection, rows: RowsToPack, batch: int) -> int:
    """Move up to ``batch`` detailed rows of that period into its packs, in the caller's
    transaction; returns how many rows were moved (0: the period is packed)."""
    packing = rows.packing
    h = packing.detailed
    postgres = conn.dialect.name == "postgresql"
    transaction_lock(conn, _PG_LOCK)
    # The rows are picked by their physical id: deleting by a key ``IN (subquery)`` scanned the
    # whole table on both engines for each batch (SQLite searched its primary key by
    # project_id alone, PostgreSQL hash-joined a sequential scan). On PostgreSQL a row the
    # worker updates meanwhile gets a new ctid, so the delete skips it: it stays a detailed row.
    row_id: ColumnElement[Any] = literal_column("ctid" if postgres else "rowid")
    doomed = (
        select(row_id)
        .where(
            h.c.project_id == rows.project_id,
            h.c.kind == rows.kind,
            h.c[packing.column] == rows.start,
        )
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
    _add_to_packs(conn, packing.packs, rows, by_key)
    _add_to_packs(conn, packing.packs_all, rows, by_name)
    return len(moved)


def _add_to_packs(
    conn: Connection, packs: Table, rows: RowsToPack, added: dict[tuple[str, ...], dict[int, int]]
) -> None:
    """Add these counts to the period's packs, keyed by the table's key columns after the
    period (name, environment and release; or name alone)."""
    column = rows.packing.column
    keys = [c for c in packs.primary_key.columns if c.name not in ("project_id", "kind", column)]
    earlier = conn.execute(
        select(*keys, packs.c.buckets).where(
            packs.c.project_id == rows.project_id,
            packs.c.kind == rows.kind,
            packs.c[column] == rows.start,
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
                "project_id": rows.project_id,
                "kind": rows.kind,
                column: rows.start,
                **dict(zip((c.name for c in keys), key, strict=True)),
                "buckets": pack_buckets(buckets),
            }
            for key, buckets in sorted(added.items())
        ],
    )


def pack_finished(db: Database, now: float, batch: int = DEFAULT_BATCH) -> int:
    """Pack the detailed histogram rows of every finished day and hour, one short transaction
    per batch; returns how many detailed rows were packed."""
    packed = 0
    for packing in PACKINGS:
        with db.read() as conn:
            periods = periods_to_pack(conn, packing, now)
        packed += sum(_pack_period(db, rows, batch) for rows in periods)
    return packed


def _pack_period(db: Database, rows: RowsToPack, batch: int) -> int:
    packed = 0
    while True:
        with db.write() as conn:
            moved = pack_batch(conn, rows, batch)
        packed += moved
        if moved < batch:
            return packed

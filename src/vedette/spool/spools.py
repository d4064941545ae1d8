"""The two spool layouts behind one interface.

``TableSpool`` (PostgreSQL): the spool is a table of the main database; workers lease batches
with SKIP LOCKED, so any number of processes may append and drain; an entry is deleted in the
transaction that stores its results.

``FileSpool`` (SQLite): the spool is one or more files of its own, appended by the one ingest
process (one writer thread per file) and each read in id order by the one worker (a file lock
makes sure of that). The worker records the last id it consumed of each file in the main
database, in the transaction that stores the results; entries up to that id are deleted from the
file afterwards. Ingest therefore never waits for the worker's write transactions, and nothing is
processed twice or lost.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Connection, Table

from vedette.domain.spooled import SpoolEntry
from vedette.spool.clock_shift import ClockShift, no_shift
from vedette.storage import spool_store
from vedette.storage.database import Database
from vedette.storage.schema import spool, spool_file
from vedette.storage.spool_store import SpoolStats


class Spool(Protocol):
    @property
    def append_databases(self) -> Sequence[Database]:
        """Where ingest appends: the databases its commits are spread over (a writer thread
        each)."""

    @property
    def table(self) -> Table: ...

    def recover(self) -> None:
        """Called once by a worker that starts, before its first claim."""

    def claim(self, limit: int, now: float) -> list[SpoolEntry]: ...

    def acknowledge(self, conn: Connection, entries: Sequence[SpoolEntry]) -> None:
        """Mark entries consumed, inside the main-database transaction holding their results."""

    def after_commit(self, entries: Sequence[SpoolEntry]) -> None: ...

    def stats(self) -> SpoolStats: ...

    def dispose(self) -> None:
        """Close what the spool opened besides the main database."""


class TableSpool:
    def __init__(
        self, db: Database, lease_seconds: float, clock_shift: ClockShift = no_shift
    ) -> None:
        self._db = db
        self._lease_seconds = lease_seconds
        self._clock_shift = clock_shift  # tests move lease expiry instead of waiting for it

    @property
    def append_databases(self) -> Sequence[Database]:
        return (self._db,)

    @property
    def table(self) -> Table:
        return spool

    def recover(self) -> None:
        """Leases of crashed workers simply expire."""

    def claim(self, limit: int, now: float) -> list[SpoolEntry]:
        with self._db.write() as conn:
            now += self._clock_shift()
            return spool_store.claim_leased(conn, limit, now, self._lease_seconds)

    def acknowledge(self, conn: Connection, entries: Sequence[SpoolEntry]) -> None:
        spool_store.delete_entries(conn, spool, [e.id for e in entries])

    def after_commit(self, entries: Sequence[SpoolEntry]) -> None:
        pass

    def stats(self) -> SpoolStats:
        with self._db.read() as conn:
            depth, oldest = spool_store.pending(conn, spool)
            return SpoolStats(depth, oldest, spool_store.dead_letter_count(conn))

    def dispose(self) -> None:
        pass  # the spool is a table of the main database


# Deleting consumed entries from a file is housekeeping; doing it in chunks keeps the
# worker's writes to the file rare, so they seldom make an ingest append wait.
_TRIM_EVERY_ENTRIES = 2000
_TRIM_EVERY_SECONDS = 2.0

# An entry of file i is known outside the file as i * FILE_ID_SPAN + its id in the file. The ids
# are then unique across files (the worker keys a batch by id, dead letters keep it), and an
# order by id keeps each file's entries in their order, which its cursor needs. File 0, the
# single file of earlier versions, keeps its ids.
FILE_ID_SPAN = 1 << 48


def file_of(entry_id: int) -> tuple[int, int]:
    """(index of the file, id in that file) of an entry id."""
    return divmod(entry_id, FILE_ID_SPAN)


class _SpoolFile:
    """One file and how far the worker consumed it (its cursor) and trimmed it."""

    def __init__(self, index: int, db: Database) -> None:
        self.index = index
        self.db = db
        self.cursor = 0
        self.trimmed_to = 0
        self.trimmed_at = 0.0

    def read(self, limit: int) -> list[SpoolEntry]:
        with self.db.read() as conn:
            return spool_store.read_after(
                conn, spool_file, self.cursor, limit, self.index * FILE_ID_SPAN
            )

    def pending(self, cursor: int) -> tuple[int, float | None]:
        """How many entries wait after ``cursor`` (the committed one, not this worker's), and
        when the oldest arrived."""
        with self.db.read() as conn:
            return spool_store.pending(conn, spool_file, cursor)

    def trim(self, force: bool) -> None:
        now = time.monotonic()
        due = (
            self.cursor - self.trimmed_to >= _TRIM_EVERY_ENTRIES
            or now - self.trimmed_at >= _TRIM_EVERY_SECONDS
        )
        if self.cursor > self.trimmed_to and (force or due):
            with self.db.write() as conn:
                spool_store.delete_through(conn, spool_file, self.cursor)
            self.trimmed_to, self.trimmed_at = self.cursor, now


def last_ids_by_file(entries: Sequence[SpoolEntry]) -> dict[int, int]:
    """File index -> the highest id (in that file) among ``entries``."""
    last: dict[int, int] = {}
    for entry in entries:
        index, local_id = file_of(entry.id)
        last[index] = max(last.get(index, 0), local_id)
    return last


class FileSpool:
    """One or more spool files. Ingest commits to the first ``writers`` of them, each by its
    own writer thread, so that commits (an fsync each) go on in parallel; the worker reads every
    file, each after its own cursor in the main database, the oldest entries first."""

    def __init__(self, spool_dbs: Sequence[Database], main_db: Database, writers: int) -> None:
        self._files = [_SpoolFile(i, db) for i, db in enumerate(spool_dbs)]
        self._main_db = main_db
        self._writers = writers

    @property
    def append_databases(self) -> Sequence[Database]:
        return tuple(f.db for f in self._files[: self._writers])

    @property
    def table(self) -> Table:
        return spool_file

    def recover(self) -> None:
        with self._main_db.read() as conn:
            cursors = spool_store.read_cursors(conn)
        for f in self._files:
            f.cursor = cursors.get(spool_store.cursor_name(f.index), 0)
            f.trim(force=True)

    def claim(self, limit: int, now: float) -> list[SpoolEntry]:
        """Up to ``limit`` entries, the oldest first across files. Each file's share is a run of
        its entries in id order from its cursor (a merge never reorders one input)."""
        per_file = [f.read(limit) for f in self._files]
        merged = heapq.merge(*per_file, key=lambda e: e.received_at)
        return list(itertools.islice(merged, limit))

    def acknowledge(self, conn: Connection, entries: Sequence[SpoolEntry]) -> None:
        for index, last_id in last_ids_by_file(entries).items():
            spool_store.advance_cursor(conn, spool_store.cursor_name(index), last_id)

    def after_commit(self, entries: Sequence[SpoolEntry]) -> None:
        for index, last_id in last_ids_by_file(entries).items():
            f = self._files[index]
            f.cursor = max(f.cursor, last_id)
        for f in self._files:
            f.trim(force=False)

    def stats(self) -> SpoolStats:
        with self._main_db.read() as conn:
            cursors = spool_store.read_cursors(conn)
            dead = spool_store.dead_letter_count(conn)
        per_file = [
            f.pending(cursors.get(spool_store.cursor_name(f.index), 0)) for f in self._files
        ]
        oldest = min((o for _, o in per_file if o is not None), default=None)
        return SpoolStats(sum(depth for depth, _ in per_file), oldest, dead)

    def dispose(self) -> None:
        for f in self._files:
            f.db.dispose()

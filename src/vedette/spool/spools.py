"""The two spool layouts behind one interface.

``TableSpool`` (PostgreSQL): the spool is a table of the main database; workers lease batches
with SKIP LOCKED, so any number of processes may append and drain; an entry is deleted in the
transaction that stores its results.

``FileSpool`` (SQLite): the spool is a file of its own, appended by the one ingest process and
read in id order by the one worker (a file lock makes sure of that). The worker records the last
id it consumed in the main database, in the transaction that stores the results; entries up to
that id are deleted from the file afterwards. Ingest therefore never waits for the worker's
write transactions, and nothing is processed twice or lost.
"""

from __future__ import annotations

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
    def database(self) -> Database:
        """Where ingest appends."""

    @property
    def table(self) -> Table: ...

    def recover(self) -> None:
        """Called once by a worker that starts, before its first claim."""

    def claim(self, limit: int, now: float) -> list[SpoolEntry]: ...

    def acknowledge(self, conn: Connection, entries: Sequence[SpoolEntry]) -> None:
        """Mark entries consumed, inside the main-database transaction holding their results."""

    def after_commit(self, entries: Sequence[SpoolEntry]) -> None: ...

    def stats(self) -> SpoolStats: ...


class TableSpool:
    def __init__(
        self, db: Database, lease_seconds: float, clock_shift: ClockShift = no_shift
    ) -> None:
        self._db = db
        self._lease_seconds = lease_seconds
        self._clock_shift = clock_shift  # tests move lease expiry instead of waiting for it

    @property
    def database(self) -> Database:
        return self._db

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


# Deleting consumed entries from the file is housekeeping; doing it in chunks keeps the
# worker's writes to the file rare, so they seldom make an ingest append wait.
_TRIM_EVERY_ENTRIES = 2000
_TRIM_EVERY_SECONDS = 2.0


class FileSpool:
    def __init__(self, spool_db: Database, main_db: Database) -> None:
        self._spool_db = spool_db
        self._main_db = main_db
        self._cursor = 0
        self._trimmed_to = 0
        self._trimmed_at = 0.0

    @property
    def database(self) -> Database:
        return self._spool_db

    @property
    def table(self) -> Table:
        return spool_file

    def recover(self) -> None:
        with self._main_db.read() as conn:
            self._cursor = spool_store.read_cursor(conn)
        self._trim(force=True)

    def claim(self, limit: int, now: float) -> list[SpoolEntry]:
        with self._spool_db.read() as conn:
            return spool_store.read_after(conn, spool_file, self._cursor, limit)

    def acknowledge(self, conn: Connection, entries: Sequence[SpoolEntry]) -> None:
        if entries:
            spool_store.advance_cursor(conn, max(e.id for e in entries))

    def after_commit(self, entries: Sequence[SpoolEntry]) -> None:
        if entries:
            self._cursor = max(self._cursor, max(e.id for e in entries))
        self._trim()

    def _trim(self, force: bool = False) -> None:
        now = time.monotonic()
        due = (
            self._cursor - self._trimmed_to >= _TRIM_EVERY_ENTRIES
            or now - self._trimmed_at >= _TRIM_EVERY_SECONDS
        )
        if self._cursor > self._trimmed_to and (force or due):
            with self._spool_db.write() as conn:
                spool_store.delete_through(conn, spool_file, self._cursor)
            self._trimmed_to, self._trimmed_at = self._cursor, now

    def stats(self) -> SpoolStats:
        with self._main_db.read() as conn:
            cursor = spool_store.read_cursor(conn)
            dead = spool_store.dead_letter_count(conn)
        with self._spool_db.read() as conn:
            depth, oldest = spool_store.pending(conn, spool_file, cursor)
        return SpoolStats(depth, oldest, dead)

"""Group commit: a thread appends every waiting envelope in one transaction, then answers all.

An ingest request awaits its future; the future resolves only after the transaction holding its
envelope has committed (SQLite: synchronous=FULL, so the WAL is fsynced). Many requests share
one fsync, which is what makes "200 only after a durable write" affordable.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Table

from vedette.domain.spooled import NewEntry
from vedette.storage import spool_store
from vedette.storage.database import Database

log = logging.getLogger(__name__)

_MAX_BATCH = 512


@dataclass(frozen=True, slots=True)
class _Pending:
    entry: NewEntry
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class SpoolUnavailable(Exception):
    """The spool could not commit; the client should retry later."""


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(SpoolUnavailable(str(error)))


class SpoolWriter:
    """One writer thread per database, all taking from one queue: a request is committed by
    whichever thread is free first, with every request that waits at that moment. With several
    SQLite files, commits (an fsync each) overlap instead of queueing behind one file."""

    def __init__(
        self, databases: Sequence[Database], table: Table, committed: Callable[[], object]
    ) -> None:
        self._databases = tuple(databases)
        self._table = table
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Called after each commit so that an idle worker wakes up without waiting for its poll.
        self._committed = committed

    def start(self) -> None:
        self._threads = [
            threading.Thread(
                target=self._run, args=(db,), name=f"vedette-spool-writer-{i}", daemon=True
            )
            for i, db in enumerate(self._databases)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)  # each thread takes one and ends
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    async def append(self, entry: NewEntry) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Pending(entry, loop, future))
        await future

    def _next_batch(self) -> tuple[list[_Pending], bool]:
        """Wait for a request, then take every one waiting (up to a batch); whether to stop."""
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < _MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self, db: Database) -> None:
        conn: Connection | None = None  # this thread's own, kept between batches
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if batch:
                conn = self._commit(db, conn, batch)
        if conn is not None:
            conn.close()

    def _commit(
        self, db: Database, conn: Connection | None, batch: list[_Pending]
    ) -> Connection | None:
        """Commit ``batch`` and answer its requests; the connection to use for the next one."""
        error: BaseException | None = None
        try:
            if conn is None:
                conn = db.write_connection()
            with db.write_on(conn) as tx:
                spool_store.append(tx, self._table, [p.entry for p in batch])
        except Exception as exc:  # the requests get 503; the writer keeps serving
            log.exception("spool append failed")
            error = exc
            if conn is not None:  # the next batch starts on a fresh one
                conn.invalidate()
                conn.close()
                conn = None
        else:
            self._committed()
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = defaultdict(list)
        for pending in batch:
            by_loop[pending.loop].append(pending.future)
        for loop, futures in by_loop.items():
            loop.call_soon_threadsafe(_settle, futures, error)
        return conn

"""Group commit: one thread appends every waiting envelope in one transaction, then answers all.

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
from collections.abc import Callable
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
    def __init__(self, db: Database, table: Table, committed: Callable[[], object]) -> None:
        self._db = db
        self._table = table
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None  # the writer thread's own, kept between batches
        # Called after each commit so that an idle worker wakes up without waiting for its poll.
        self._committed = committed

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vedette-spool-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    async def append(self, entry: NewEntry) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Pending(entry, loop, future))
        await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            stopping = False
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)
            if stopping:
                break
        if self._conn is not None:
            self._conn.close()

    def _discard_connection(self) -> None:
        if self._conn is not None:
            self._conn.invalidate()
            self._conn.close()
            self._conn = None

    def _commit(self, batch: list[_Pending]) -> None:
        error: BaseException | None = None
        try:
            if self._conn is None:
                self._conn = self._db.write_connection()
            with self._db.write_on(self._conn) as conn:
                spool_store.append(conn, self._table, [p.entry for p in batch])
        except Exception as exc:  # the requests get 503; the writer keeps serving
            log.exception("spool append failed")
            error = exc
            self._discard_connection()  # the next batch starts on a fresh one
        else:
            self._committed()
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = defaultdict(list)
        for pending in batch:
            by_loop[pending.loop].append(pending.future)
        for loop, futures in by_loop.items():
            loop.call_soon_threadsafe(_settle, futures, error)

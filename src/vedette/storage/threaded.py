"""Transactions for async code: each runs in the thread pool, off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from vedette.storage.database import Database

T = TypeVar("T")


async def read(db: Database, fn: Callable[[Connection], T]) -> T:
    """``fn`` in a read transaction."""

    def run() -> T:
        with db.read() as conn:
            return fn(conn)

    return await run_in_threadpool(run)


async def write(db: Database, fn: Callable[[Connection], T]) -> T:
    """``fn`` in a write transaction, committed unless it raises."""

    def run() -> T:
        with db.write() as conn:
            return fn(conn)

    return await run_in_threadpool(run)

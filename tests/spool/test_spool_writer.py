"""The spool writer on a real database: a 200 waits for the commit, a failed commit is a 503 for
every request in its batch, and the writer goes on serving afterwards (on a fresh connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from vedette.domain.spooled import NewEntry
from vedette.settings import Settings
from vedette.spool.writer import SpoolUnavailable, SpoolWriter
from vedette.storage.migrate import upgrade
from vedette.stores import Storage, open_storage


@pytest.fixture
def storage(database_url: str, tmp_path: Path) -> Iterator[Storage]:
    # One writer (SQLite: one file), so that every request goes where the test breaks the table.
    opened = open_storage(Settings(data_dir=tmp_path, database_url=database_url, spool_files=1))
    upgrade(opened.db)
    yield opened
    opened.dispose()


def _entry(n: int) -> NewEntry:
    return NewEntry(1, 1_700_000_000.0 + n, "127.0.0.1", b"envelope %d" % n)


async def _append_all(writer: SpoolWriter, entries: list[NewEntry]) -> list[BaseException | None]:
    results = await asyncio.gather(*(writer.append(e) for e in entries), return_exceptions=True)
    return [r if isinstance(r, BaseException) else None for r in results]


def _spooled(storage: Storage) -> list[bytes]:
    table = storage.spool.table
    with storage.spool.append_databases[0].read() as conn:
        return [bytes(p) for p in conn.scalars(select(table.c.payload).order_by(table.c.id))]


def _rename_spool(storage: Storage, old: str, new: str) -> None:
    with storage.spool.append_databases[0].write() as conn:
        conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def test_commits_then_fails_then_recovers(storage: Storage) -> None:
    commits: list[int] = []
    writer = SpoolWriter(
        storage.spool.append_databases, storage.spool.table, lambda: commits.append(1)
    )
    writer.start()
    try:
        assert asyncio.run(_append_all(writer, [_entry(i) for i in range(5)])) == [None] * 5
        assert _spooled(storage) == [b"envelope %d" % i for i in range(5)]

        _rename_spool(storage, "spool", "spool_away")
        failed = asyncio.run(_append_all(writer, [_entry(i) for i in range(5, 8)]))
        assert all(isinstance(r, SpoolUnavailable) for r in failed)

        _rename_spool(storage, "spool_away", "spool")
        assert asyncio.run(_append_all(writer, [_entry(8)])) == [None]
    finally:
        writer.stop()
    assert _spooled(storage) == [b"envelope %d" % i for i in (0, 1, 2, 3, 4, 8)]
    assert len(commits) >= 2
    with storage.spool.append_databases[0].read() as conn:
        count = conn.execute(select(func.count()).select_from(storage.spool.table)).scalar_one()
    assert count == 6

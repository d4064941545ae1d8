"""SQLite's spool over several files (issue 18): ingest commits to whichever file's writer is
free, the worker reads every file (the oldest entries first, each file after its own cursor,
which advances in the transaction that stores the results), and a restart, a kill -9 of the
worker or a lower setting neither loses nor repeats an entry."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import LiveVedette
from tests.e2e.crash_stream import (
    LEASE_SECONDS,
    TEMPLATE,
    TEMPLATE_ID,
    a_batch_later,
    send_errors,
    stored_counts,
)

from vedette.domain.spooled import NewEntry, SpoolEntry
from vedette.settings import Settings
from vedette.spool.spools import FILE_ID_SPAN
from vedette.spool.writer import SpoolWriter
from vedette.storage import spool_store
from vedette.storage.database import Database
from vedette.storage.migrate import upgrade
from vedette.storage.schema import spool_file
from vedette.stores import Storage, open_storage, spool_file_path, spool_files_present

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

FILES = 3


def opened(database_url: str, tmp_path: Path, files: int = FILES) -> Storage:
    settings = Settings(data_dir=tmp_path, database_url=database_url, spool_files=files)
    storage = open_storage(settings)
    upgrade(storage.db)
    return storage


@pytest.fixture
def storage(database_url: str, tmp_path: Path) -> Iterator[Storage]:
    storage = opened(database_url, tmp_path)
    yield storage
    storage.dispose()


def file_db(storage: Storage, index: int) -> Database:
    return Database(f"sqlite:///{spool_file_path(Path(storage.db.url.database or ''), index)}")


def payloads_of(storage: Storage, index: int) -> list[bytes]:
    db = file_db(storage, index)
    try:
        with db.read() as conn:
            return [bytes(p) for p in conn.scalars(select(spool_file.c.payload))]
    finally:
        db.dispose()


def append_to(storage: Storage, index: int, received_at: list[float]) -> None:
    """Entries committed to file ``index`` in this order (payload: file and received time)."""
    db = file_db(storage, index)
    try:
        with db.write() as conn:
            spool_store.append(conn, spool_file, [
                NewEntry(1, t, None, b"%d@%d" % (index, t)) for t in received_at
            ])  # fmt: skip
    finally:
        db.dispose()


def consume(storage: Storage, entries: list[SpoolEntry]) -> None:
    """What the worker does with a batch it stored: acknowledge it in the main database's
    transaction, then let the spool move on."""
    with storage.db.write() as conn:
        storage.spool.acknowledge(conn, entries)
    storage.spool.after_commit(entries)


@sqlite_only
def test_the_server_opens_its_files_and_the_first_keeps_the_old_name(
    storage: Storage, tmp_path: Path
) -> None:
    assert len(storage.spool.append_databases) == FILES
    assert (tmp_path / "vedette.spool.sqlite3").exists()
    assert (tmp_path / "vedette.spool.2.sqlite3").exists()
    assert spool_files_present(tmp_path / "vedette.sqlite3") == FILES


@sqlite_only
def test_a_request_goes_to_a_free_writer_while_the_others_commit(storage: Storage) -> None:
    """Each commit is held (in the writer's callback, after the commit) until every file has
    one: a request arriving while a writer is busy must be taken by another file's writer."""
    entered = threading.Semaphore(0)
    release = threading.Event()

    def committed() -> None:
        entered.release()
        release.wait(30)

    writer = SpoolWriter(storage.spool.append_databases, storage.spool.table, committed)

    async def send() -> None:
        appends = []
        for n in range(FILES):
            entry = NewEntry(1, 1_700_000_000.0 + n, None, b"envelope %d" % n)
            appends.append(asyncio.ensure_future(writer.append(entry)))
            assert await asyncio.to_thread(entered.acquire, True, 30), "no writer committed"
        release.set()
        await asyncio.gather(*appends)

    writer.start()
    try:
        asyncio.run(send())
    finally:
        release.set()
        writer.stop()
    per_file = [payloads_of(storage, i) for i in range(FILES)]
    assert sorted(p for payloads in per_file for p in payloads) == [
        b"envelope %d" % n for n in range(FILES)
    ]
    assert [len(payloads) for payloads in per_file] == [1] * FILES


@sqlite_only
def test_the_worker_takes_the_oldest_first_across_files_each_in_its_order(
    storage: Storage,
) -> None:
    append_to(storage, 0, [10, 40, 20])  # a file's order is its commit order, kept as such
    append_to(storage, 1, [15, 16])
    append_to(storage, 2, [30])
    storage.spool.recover()

    first = storage.spool.claim(4, now=0)
    assert [e.payload for e in first] == [b"0@10", b"1@15", b"1@16", b"2@30"]
    assert len({e.id for e in first}) == 4  # unique across files
    assert sorted(e.id // FILE_ID_SPAN for e in first) == [0, 1, 1, 2]
    consume(storage, first)
    assert storage.spool.stats().depth == 2

    rest = storage.spool.claim(10, now=0)
    assert [e.payload for e in rest] == [b"0@40", b"0@20"]  # never past its cursor's next


@sqlite_only
def test_a_restart_resumes_every_file_after_its_cursor(
    storage: Storage, database_url: str, tmp_path: Path
) -> None:
    append_to(storage, 0, [1, 2])
    append_to(storage, 1, [3])
    append_to(storage, 2, [4, 5])
    storage.spool.recover()
    consume(storage, storage.spool.claim(3, now=0))  # 0@1, 0@2, 1@3
    storage.spool.claim(10, now=0)  # claimed, then the worker dies before storing them

    restarted = opened(database_url, tmp_path)
    try:
        restarted.spool.recover()
        assert [e.payload for e in restarted.spool.claim(10, now=0)] == [b"2@4", b"2@5"]
        stats = restarted.spool.stats()
        assert (stats.depth, stats.oldest_received_at) == (2, 4.0)
    finally:
        restarted.dispose()
    assert payloads_of(storage, 0) == []  # consumed entries are trimmed at recovery
    assert payloads_of(storage, 2) == [b"2@4", b"2@5"]


@sqlite_only
def test_files_beyond_a_lowered_setting_still_drain(
    storage: Storage, database_url: str, tmp_path: Path
) -> None:
    append_to(storage, 2, [7])
    lowered = opened(database_url, tmp_path, files=1)
    try:
        assert len(lowered.spool.append_databases) == 1  # ingest writes to one file only
        lowered.spool.recover()
        assert [e.payload for e in lowered.spool.claim(10, now=0)] == [b"2@7"]
        assert lowered.spool.stats().depth == 1
    finally:
        lowered.dispose()


@pytest.mark.parametrize("own_server", ["sqlite"], indirect=True)
def test_killing_the_worker_mid_batch_across_files_loses_and_repeats_nothing(
    own_server: LiveVedette,
) -> None:
    own_server.start(worker_enabled="false", spool_files=str(FILES))
    project = own_server.create_project()
    accepted = send_errors(own_server, project, 300)
    assert own_server.api_get("/api/0/internal/spool/")["depth"] == 300  # every file counted
    assert "vedette_spool_depth 300\n" in own_server.http.get("/metrics").text
    own_server.stop()
    # Which file a request lands in depends on which writer thread is free first (the test
    # above shows the spreading): so that every file surely holds some, 20 more envelopes go
    # straight into each.
    main = Path(own_server.db.url.database or "")
    spooled = []
    for index in range(FILES):
        db = Database(f"sqlite:///{spool_file_path(main, index)}")
        direct = [uuid.uuid4().hex for _ in range(20)]
        with db.write() as conn:
            spool_store.append(conn, spool_file, [
                NewEntry(project.id, time.time(), None,
                         TEMPLATE.replace(TEMPLATE_ID, event_id.encode()))
                for event_id in direct
            ])  # fmt: skip
        with db.read() as conn:
            spooled.append(len(conn.execute(select(spool_file.c.id)).all()))
        db.dispose()
        accepted += direct
    assert sum(spooled) == 300 + 20 * FILES and min(spooled) >= 20, spooled

    depth = 300 + 20 * FILES
    for _ in range(3):
        own_server.start(worker_batch_size="20", spool_files=str(FILES))
        depth = a_batch_later(own_server, depth)
        own_server.kill()
        own_server.shift_clock(LEASE_SECONDS)
    own_server.start(spool_files=str(FILES))
    own_server.wait_processed(timeout=60)
    assert stored_counts(own_server, project) == dict.fromkeys(accepted, 1)

"""Helper processes share the worker's pure processing step (issue 18): real processes, real
databases. What is stored does not depend on them; a poisoned entry is dead-lettered from a
helper as from the worker; a helper killed mid-batch loses and duplicates nothing; helpers stop
when idle and when the worker dies."""

from __future__ import annotations

import contextlib
import gzip
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import fresh_database_url
from tests.waiting import wait_for

from vedette.domain.spooled import NewEntry
from vedette.processing.pipeline import ProcessingConfig
from vedette.settings import Settings
from vedette.spool.processing_pool import PoolConfig
from vedette.spool.worker import Worker, WorkerConfig
from vedette.storage import accounts, spool_store
from vedette.storage.migrate import upgrade
from vedette.storage.schema import dead_letters, events, metadata
from vedette.stores import Storage, open_storage

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
CORPUS = sorted([*CORPORA.glob("sdk-*/*.envelope"), *CORPORA.glob("wire/*/*.envelope")])
RECEIVED = 1_700_000_000.0
# Columns written with the clock of the transaction that stores a batch, not with the entries.
STORED_AT = {"failed_at", "updated_at", "created_at", "last_activity", "at"}


@contextlib.contextmanager
def storage_at(database_url: str, data_dir: Path) -> Iterator[Storage]:
    storage = open_storage(Settings(data_dir=data_dir, database_url=database_url))
    upgrade(storage.db)
    try:
        yield storage
    finally:
        storage.dispose()


@pytest.fixture
def storage(database_url: str, tmp_path: Path) -> Iterator[Storage]:
    with storage_at(database_url, tmp_path) as opened:
        yield opened


def spool(storage: Storage, payloads: list[bytes]) -> int:
    """The payloads spooled for the project (made by the first call); returns its id."""
    with storage.db.write() as conn:
        found = accounts.find_project(conn, "pool", "pool")
        project_id = found.id if found else accounts.create_project(conn, "pool", "pool").id
    with storage.spool.append_databases[0].write() as conn:
        spool_store.append(conn, storage.spool.table, [
            NewEntry(project_id, RECEIVED + n, "127.0.0.1", p) for n, p in enumerate(payloads)
        ])  # fmt: skip
    return project_id


def worker(
    storage: Storage,
    processes: int,
    processing: Callable[[int], ProcessingConfig] = lambda _pid: ProcessingConfig(),
    **pool: Any,
) -> Worker:
    config = WorkerConfig(
        batch_size=50, niceness=0, pool=PoolConfig(processes=processes, min_batch=1, **pool)
    )
    return Worker(storage.db, storage.spool, config, processing=processing)


def ready(w: Worker) -> Worker:
    """The worker with its helpers started and ready, so that they take chunks at once."""
    w._pool._start()
    for helper in w._pool._helpers:
        assert pickle.loads(helper.receive()) is None and helper.ready
    return w


def drain(w: Worker) -> None:
    try:
        while w.run_once(RECEIVED):
            pass
    finally:
        w.close()


def dump(storage: Storage) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the main database, but the storing transaction's clock."""
    found = {}
    with storage.db.read() as conn:
        for table in metadata.sorted_tables:
            if table.name.startswith("spool") or table.name == "project_keys":  # random keys
                continue
            columns = [c for c in table.c if c.name not in STORED_AT]
            rows = conn.execute(select(*columns)).all()
            found[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return found


def count(storage: Storage, table: Any) -> int:
    with storage.db.read() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its new parent to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_corpora_are_stored_the_same_with_and_without_helpers(
    database_url: str, tmp_path: Path
) -> None:
    payloads = [p.read_bytes() for p in CORPUS] * 2  # twice: the second copies are duplicates
    payloads += [gzip.compress(p) for p in payloads[:20]]  # as SDKs send them
    assert len(CORPUS) > 50
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    dumps = []
    for processes in (0, 2):
        data_dir = tmp_path / str(processes)
        data_dir.mkdir()
        with (
            contextlib.contextmanager(fresh_database_url)(backend, data_dir, True) as url,
            storage_at(url, data_dir) as storage,
        ):
            spool(storage, payloads)
            w = ready(worker(storage, processes))
            drain(w)
            assert w._pool.by_helpers > len(payloads) // 4 if processes else True
            assert count(storage, dead_letters) == 0
            dumps.append(dump(storage))
    assert dumps[0] == dumps[1]
    assert len(dumps[1]["events"]) > 50


def test_a_poisoned_entry_processed_by_a_helper_is_dead_lettered(storage: Storage) -> None:
    good = (CORPORA / "sdk-python" / "error_zero_division.envelope").read_bytes()
    poison = b"\x1f\x8b not gzip at all"
    spool(storage, [good, poison, good.replace(b"error_zero", b"other_zero")])
    w = worker(storage, 1, chunk=1)
    w.run_once(RECEIVED)  # the helpers start and the worker does the batch itself meanwhile
    w.close()
    spool(storage, [poison] * 40)
    w = ready(worker(storage, 1, chunk=1))
    drain(w)
    assert w._pool.by_helpers > 0
    with storage.db.read() as conn:
        errors = list(conn.scalars(select(dead_letters.c.error)))
    assert len(errors) == 41
    assert all("Error" in e for e in errors)
    assert any("processing_pool.py" in e and "run_job" in e for e in errors)  # from a helper
    assert count(storage, events) == 1


def test_a_helper_killed_mid_batch_loses_and_duplicates_nothing(storage: Storage) -> None:
    names = sorted((CORPORA / "sdk-python").glob("error_*.envelope"))
    payloads = [p.read_bytes() for p in names]
    project_id = spool(storage, payloads * 4)
    kills: list[int] = []
    calls = 0

    def processing(_project_id: int) -> ProcessingConfig:
        # Called once per entry to prepare the helpers' jobs, then by the worker for each entry
        # it processes itself, by then the helpers have chunks: the first such call kills one.
        nonlocal calls
        calls += 1
        if calls > len(payloads) * 4 and w.helper_pids and not kills:
            kills.append(w.helper_pids[0])
            os.kill(kills[0], signal.SIGKILL)
        return ProcessingConfig()

    w = ready(worker(storage, 2, processing, chunk=2))
    drain(w)
    assert kills
    with storage.db.read() as conn:
        stored = conn.execute(
            select(events.c.event_id, func.count()).group_by(events.c.event_id)
        ).all()
    distinct = {p.split(b'"event_id":"', 1)[1][:32] for p in payloads}
    assert len(stored) == len(distinct)  # every event, and once (resent ids are deduplicated)
    assert count(storage, dead_letters) == 0
    assert storage.spool.claim(1000, RECEIVED + 3600) == []
    assert project_id


def test_helpers_stop_when_idle(storage: Storage) -> None:
    spool(storage, [(CORPORA / "sdk-python" / "error_zero_division.envelope").read_bytes()] * 3)
    w = worker(storage, 2, idle_seconds=0.0)
    assert w.run_once(RECEIVED) == 3
    pids = w.helper_pids
    assert len(pids) == 2 and all(map(alive, pids))
    rounds = 0

    def should_stop() -> bool:
        nonlocal rounds
        rounds += 1
        return not w.helper_pids or rounds > 100

    w.run(should_stop, lambda _seconds: None)
    assert rounds <= 100
    assert not any(map(alive, pids))


HOLDER = """
import sys
from vedette.processing.pipeline import ProcessingConfig
from vedette.spool.processing_pool import Job, PoolConfig, ProcessingPool
pool = ProcessingPool(PoolConfig(processes=2, min_batch=1, chunk=1), 50_000)
jobs = [Job(n, 1.0, None, b"{}\\n", ProcessingConfig()) for n in range(20)]
pool.process(jobs, [], lambda n: "local")
print(*pool.pids, flush=True)
sys.stdin.read()
"""


def test_helpers_end_when_the_worker_dies() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None
        pids = [int(p) for p in holder.stdout.readline().split()]
        assert len(pids) == 2 and all(map(alive, pids))
        holder.kill()
    wait_for(lambda: not any(map(alive, pids)), timeout=10)

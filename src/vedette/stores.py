"""The databases a server and its worker open: the main database and the spool that fits its
engine (files beside SQLite's database, a table in PostgreSQL's)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from vedette.spool.clock_shift import clock_shift
from vedette.spool.spools import FileSpool, Spool, TableSpool
from vedette.storage.database import Database
from vedette.storage.schema import spool_file_metadata


@dataclass(frozen=True)
class Storage:
    db: Database
    spool: Spool

    def dispose(self) -> None:
        self.db.dispose()
        self.spool.dispose()


def spool_file_path(main: Path, index: int = 0) -> Path:
    """Where SQLite's spool file ``index`` lives: beside the main database file. The first has
    the name of the only one of earlier versions."""
    middle = "" if index == 0 else f".{index}"
    return main.with_name(f"{main.stem}.spool{middle}.sqlite3")


def spool_files_present(main: Path) -> int:
    """How many spool files the worker must read: up to the highest index on disk."""
    prefix, suffix = f"{main.stem}.spool.", ".sqlite3"
    indexes = [
        int(middle)
        for path in main.parent.glob(f"{prefix}*{suffix}")
        if (middle := path.name[len(prefix) : -len(suffix)]).isdigit()
    ]
    if spool_file_path(main).exists():
        indexes.append(0)
    return max(indexes, default=-1) + 1


def main_file_path(db: Database) -> Path:
    return Path(db.url.database or "vedette.sqlite3")


class StorageSettings(Protocol):
    """What opening the storage reads of the settings: the server's `Settings`, or the plain
    values the worker process receives (vedette/worker_process.py, `WorkerSettings`)."""

    @property
    def spool_lease_seconds(self) -> float: ...

    @property
    def test_clock_file(self) -> Path | None: ...

    def resolved_database_url(self) -> str: ...


@runtime_checkable
class SpoolWriterSettings(Protocol):
    """The server's settings also say over how many SQLite files ingest spreads its commits.
    The worker process does not need to know: it reads every spool file there is, so lowering
    the setting (or upgrading from the single file) strands nothing."""

    @property
    def spool_files(self) -> int: ...


def open_storage(settings: StorageSettings) -> Storage:
    """Open the main database (not migrated here) and the spool that fits its engine."""
    db = Database(settings.resolved_database_url())
    if not db.is_sqlite:
        lease_clock = clock_shift(settings.test_clock_file)
        return Storage(db, TableSpool(db, settings.spool_lease_seconds, lease_clock))
    writers = settings.spool_files if isinstance(settings, SpoolWriterSettings) else 1
    main = main_file_path(db)
    spool_dbs = [
        Database(f"sqlite:///{spool_file_path(main, i)}")
        for i in range(max(writers, spool_files_present(main)))
    ]
    for spool_db in spool_dbs:
        spool_file_metadata.create_all(spool_db.engine)
    return Storage(db, FileSpool(spool_dbs, db, writers))


def backup_sqlite(storage: Storage, directory: Path) -> Path:
    """Copy the main database and the spool files with SQLite's online backup (the server may
    keep running) into ``directory`` under the names a server started there will use."""
    directory.mkdir(parents=True, exist_ok=False)
    target = directory / "vedette.sqlite3"
    source = main_file_path(storage.db)
    spools = [
        (spool_file_path(source, i), spool_file_path(target, i))
        for i in range(spool_files_present(source))
    ]
    # The spool first: whatever the main copy says was consumed is then surely in the spool copy
    # or already processed, so a restore can neither lose nor repeat an envelope.
    for original, destination in [*spools, (source, target)]:
        src, dst = sqlite3.connect(original), sqlite3.connect(destination)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    return directory.resolve()

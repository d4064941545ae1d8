"""The databases a server and its worker open: the main database and the spool that fits its
engine (a file beside SQLite's database, a table in PostgreSQL's)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
        if self.spool.database is not self.db:
            self.spool.database.dispose()


def spool_file_path(main: Path) -> Path:
    """Where the SQLite spool lives: beside the main database file."""
    return main.with_name(main.stem + ".spool.sqlite3")


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


def open_storage(settings: StorageSettings) -> Storage:
    """Open the main database (not migrated here) and the spool that fits its engine."""
    db = Database(settings.resolved_database_url())
    if not db.is_sqlite:
        lease_clock = clock_shift(settings.test_clock_file)
        return Storage(db, TableSpool(db, settings.spool_lease_seconds, lease_clock))
    spool_db = Database(f"sqlite:///{spool_file_path(main_file_path(db))}")
    spool_file_metadata.create_all(spool_db.engine)
    return Storage(db, FileSpool(spool_db, db))


def backup_sqlite(storage: Storage, directory: Path) -> Path:
    """Copy the main database and the spool file with SQLite's online backup (the server may
    keep running) into ``directory`` under the names a server started there will use."""
    directory.mkdir(parents=True, exist_ok=False)
    target = directory / "vedette.sqlite3"
    source = main_file_path(storage.db)
    pairs = [(source, target), (spool_file_path(source), spool_file_path(target))]
    # The spool first: whatever the main copy says was consumed is then surely in the spool copy
    # or already processed, so a restore can neither lose nor repeat an envelope.
    for original, destination in reversed(pairs):
        src, dst = sqlite3.connect(original), sqlite3.connect(destination)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    return directory.resolve()

"""Alembic migrations build exactly the schema module's tables (no drift), on both engines;
a database already at the head is recognised without loading Alembic."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vedette.storage.database import Database
from vedette.storage.migrate import HEAD, current_revision, head_revision, upgrade
from vedette.storage.schema import metadata


def test_migrations_match_the_schema(db: Database) -> None:
    with db.read() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)
    upgrade(db)


def test_head_names_the_last_migration() -> None:
    assert head_revision() == HEAD


def test_an_empty_database_has_no_revision(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert current_revision(db) is None
    finally:
        db.dispose()


def test_the_stored_revision_is_read_as_alembic_reads_it(db: Database) -> None:
    with db.read() as conn:
        assert current_revision(db) == MigrationContext.configure(conn).get_current_revision()
    assert current_revision(db) == HEAD


_UPGRADE_AND_REPORT = """
import sys
from vedette.storage.database import Database
from vedette.storage.migrate import upgrade
upgrade(Database(sys.argv[1]))
print("alembic" in sys.modules)
"""


def test_a_current_database_is_upgraded_without_loading_alembic(db: Database) -> None:
    """(A database with something to migrate does load it: every migrated template of the
    suite is made by ``upgrade`` from an empty database.)"""
    loaded = subprocess.run(
        [sys.executable, "-c", _UPGRADE_AND_REPORT, db.url.render_as_string(hide_password=False)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout.strip()  # fmt: skip
    assert loaded == "False"

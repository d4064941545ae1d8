"""Alembic migrations build exactly the schema module's tables (no drift), on both engines;
a database already at the head is recognised without loading Alembic."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
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


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_nodes_migrating_one_database_at_once_all_succeed(database_url: str) -> None:
    """Three nodes starting together on an empty PostgreSQL database each ran the migrations:
    all but one failed on tables the first had just made. They take turns now."""
    env = {**os.environ, "VEDETTE_DATABASE_URL": database_url}
    migrations = [
        subprocess.Popen(
            [sys.executable, "-m", "vedette", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [m.communicate(timeout=120)[0].decode() for m in migrations]
    assert [m.returncode for m in migrations] == [0, 0, 0], outputs
    db = Database(database_url)
    try:
        assert current_revision(db) == HEAD
    finally:
        db.dispose()

"""Alembic migrations build exactly the schema module's tables (no drift), on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vedette.storage.database import Database
from vedette.storage.migrate import upgrade
from vedette.storage.schema import metadata


def test_migrations_match_the_schema(db: Database) -> None:
    with db.read() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)
    upgrade(db)

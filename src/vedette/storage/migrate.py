"""Bring a database to the current schema with Alembic (run by `serve`, `migrate` and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from vedette.storage.database import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(db: Database) -> None:
    with db.write() as conn:
        command.upgrade(alembic_config(conn), "head")


def head_revision() -> str:
    """The revision the current code's schema is at."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def current_revision(db: Database) -> str | None:
    """The revision the database is at (None: no schema yet); nothing is migrated."""
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def make_revision(db: Database, message: str) -> None:
    """Autogenerate a migration from the schema module (a developer tool)."""
    with db.write() as conn:
        command.revision(alembic_config(conn), message=message, autogenerate=True)

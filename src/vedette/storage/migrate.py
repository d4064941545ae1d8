"""Bring a database to the current schema with Alembic (run by `serve`, `migrate` and tests).

Alembic is imported only when there is something to migrate: a server that starts on a current
database (nearly every start) reads the stored revision with one query and skips the 9 MiB and
75 ms of CPU that Alembic's imports cost.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from vedette.storage.database import Database
from vedette.storage.dialect import transaction_lock

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# The last migration's revision. tests/storage/test_migrations.py checks it against Alembic's
# head, so a new migration cannot be forgotten here.
HEAD = "0030"


def alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# The transaction lock's key for migrating (any constant of our own).
_MIGRATION_LOCK = 0x7665646D6967  # "vedmig"


def upgrade(db: Database) -> None:
    """Migrate to HEAD. Nodes that start together on PostgreSQL take turns: each migrates in
    one transaction holding an advisory lock, so the next finds the database current (Alembic
    reads the revision after the lock) instead of creating the same tables again."""
    if current_revision(db) == HEAD:
        return
    from alembic import command

    with db.write() as conn:
        transaction_lock(conn, _MIGRATION_LOCK)
        command.upgrade(alembic_config(conn), "head")


def head_revision() -> str:
    """The revision the current code's schema is at, as Alembic finds it in the migrations."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def current_revision(db: Database) -> str | None:
    """The revision the database is at (None: no schema yet); nothing is migrated."""
    with db.read() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def make_revision(db: Database, message: str) -> None:
    """Autogenerate a migration from the schema module (a developer tool)."""
    from alembic import command

    with db.write() as conn:
        command.revision(alembic_config(conn), message=message, autogenerate=True)

"""Bring a database to the current schema with Alembic (run by `serve`, `migrate` and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
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


def make_revision(db: Database, message: str) -> None:
    """Autogenerate a migration from the schema module (a developer tool)."""
    with db.write() as conn:
        command.revision(alembic_config(conn), message=message, autogenerate=True)

"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def insert_for(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: Connection, table: Table) -> Insert:
    """INSERT that silently skips rows whose key already exists."""
    return insert_for(conn, table).on_conflict_do_nothing()


def upsert_add(
    conn: Connection,
    table: Table,
    key: Sequence[str],
    add: Sequence[str],
    greatest_of: Sequence[str] = (),
    least_of: Sequence[str] = (),
) -> Insert:
    """INSERT, or on a key clash add ``add`` columns and keep the max/min of the others."""
    stmt = insert_for(conn, table)
    excluded = stmt.excluded
    values: dict[str, Any] = {name: table.c[name] + excluded[name] for name in add}
    for name in greatest_of:
        values[name] = greatest(conn, table.c[name], excluded[name])
    for name in least_of:
        values[name] = least(conn, table.c[name], excluded[name])
    return stmt.on_conflict_do_update(index_elements=list(key), set_=values)


def greatest(conn: Connection, *args: Any) -> Any:
    """The larger of the arguments (SQLite's scalar max() is PostgreSQL's greatest())."""
    return (func.greatest if conn.dialect.name == "postgresql" else func.max)(*args)


def least(conn: Connection, *args: Any) -> Any:
    return (func.least if conn.dialect.name == "postgresql" else func.min)(*args)


def transaction_lock(conn: Connection, key: int) -> None:
    """Hold ``key`` (a signed 64-bit number) until the transaction ends, so that writers on
    PostgreSQL take turns at what it guards; SQLite runs one write transaction at a time."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(key)))

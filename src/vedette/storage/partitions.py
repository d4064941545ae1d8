"""PostgreSQL time partitions of the fastest-growing tables: logs and spans (docs/logs.md).

On PostgreSQL ``log_records`` and ``spans`` are partitioned by RANGE on their time column, one
partition per UTC day, plus a default partition for records whose day has none (a late record
with an old timestamp, a clock far ahead). Retention then drops a whole expired day instead of
deleting its rows one by one. SQLite keeps plain tables and bounded batch deletes.

The partitions live in their own schema, ``vedette_partitions``: the public schema keeps one
table per concept (what Alembic compares with the schema module).

Days are created ahead by the worker's hourly cleanup (``maintain``). A new day is made as a
plain table and then attached: that takes a lock on the parent that lets reads and writes go on
(``CREATE TABLE ... PARTITION OF`` would block them), after moving the rows of that day that
had landed in the default partition. Drops wait for their lock at most ``LOCK_TIMEOUT``, so a
long read is not queued behind (with every write behind it); a drop that gives up is retried
an hour later.
"""

from __future__ import annotations

import calendar
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from vedette.storage.database import Database

SCHEMA = "vedette_partitions"
DAY = 86400
AHEAD_DAYS = 3
LOCK_TIMEOUT = "2s"
log = logging.getLogger(__name__)
_DAY_NAME = re.compile(r"^(?P<table>[a-z_]+)_p(?P<date>\d{8})$")


@dataclass(frozen=True, slots=True)
class Partitioned:
    """A partitioned table: its name and the column (Unix seconds) it is partitioned by."""

    table: str
    column: str

    @property
    def default(self) -> str:
        return f"{self.table}_default"


LOGS = Partitioned("log_records", "timestamp")
SPANS = Partitioned("spans", "start_timestamp")
TABLES = (LOGS, SPANS)


def day_of(timestamp: float) -> int:
    """Days since 1970-01-01 (UTC) of a Unix time."""
    return int(timestamp // DAY)


def partition_name(table: str, day: int) -> str:
    return f"{table}_p{time.strftime('%Y%m%d', time.gmtime(day * DAY))}"


def day_of_partition(table: str, name: str) -> int | None:
    """The day a partition of ``table`` holds, from its name (None: not a day partition)."""
    found = _DAY_NAME.match(name)
    if found is None or found["table"] != table:
        return None
    return day_of(calendar.timegm(time.strptime(found["date"], "%Y%m%d")))


def days_to_create(existing: Iterable[int], today: int, ahead: int = AHEAD_DAYS) -> list[int]:
    """Today and the ``ahead`` days after it that have no partition yet."""
    have = set(existing)
    return [day for day in range(today, today + ahead + 1) if day not in have]


def days_to_drop(existing: Iterable[int], cutoff: float) -> list[int]:
    """The days that end at or before ``cutoff``: every record in them has expired. The day
    that straddles the cutoff stays whole until it ends (a record lives up to a day longer)."""
    return sorted(day for day in existing if (day + 1) * DAY <= cutoff)


def existing_days(conn: Connection, table: Partitioned) -> set[int]:
    names = conn.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent"
            " WHERE p.relname = :parent AND p.relnamespace = 'public'::regnamespace"
        ),
        {"parent": table.table},
    )
    return {day for name in names if (day := day_of_partition(table.table, name)) is not None}


def is_partitioned(conn: Connection, table: Partitioned) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"),
        {"name": f"public.{table.table}"},
    )
    return bool(kind == "p")


def bounds(day: int) -> str:
    return f"FROM ({day * DAY}) TO ({(day + 1) * DAY})"


def create_day(conn: Connection, table: Partitioned, day: int) -> int:
    """Create the day's partition, moving in the rows of that day held by the default one;
    returns 1 (one partition made)."""
    name, parent = partition_name(table.table, day), table.table
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    conn.execute(
        text(f'CREATE TABLE {SCHEMA}."{name}" (LIKE public."{parent}" INCLUDING DEFAULTS)')
    )
    within = f'"{table.column}" >= {day * DAY} AND "{table.column}" < {(day + 1) * DAY}'
    conn.execute(
        text(
            f'WITH moved AS (DELETE FROM {SCHEMA}."{table.default}" WHERE {within} RETURNING *)'
            f' INSERT INTO {SCHEMA}."{name}" SELECT * FROM moved'
        )
    )
    conn.execute(
        text(f'ALTER TABLE public."{parent}" ATTACH PARTITION {SCHEMA}."{name}" '
             f"FOR VALUES {bounds(day)}")
    )  # fmt: skip
    return 1


def drop_day(conn: Connection, table: Partitioned, day: int) -> int:
    """Drop the day's partition; returns how many rows it held."""
    name = partition_name(table.table, day)
    rows = int(conn.scalar(text(f'SELECT count(*) FROM {SCHEMA}."{name}"')) or 0)
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    conn.execute(text(f'DROP TABLE {SCHEMA}."{name}"'))
    return rows


@dataclass(slots=True)
class Maintenance:
    created: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # table -> rows of its dropped days
    put_off: int = 0  # changes that could not get their lock: tried again on the next run


def maintain(db: Database, now: float, cutoffs: dict[str, float]) -> Maintenance:
    """Create today's and the next days' partitions and drop the days older than each table's
    cutoff (``cutoffs``: table name -> Unix time), one short transaction per partition.
    Nothing to do on SQLite (or on a table that is not partitioned)."""
    done = Maintenance()
    for table in TABLES:
        with db.read() as conn:
            if not is_partitioned(conn, table):
                continue
            existing = existing_days(conn, table)
        wanted = days_to_create(existing, day_of(now))
        created = create_days(db, table, wanted)
        done.created += created
        done.put_off += len(wanted) - created
        cutoff = cutoffs.get(table.table)
        for day in days_to_drop(existing, cutoff) if cutoff is not None else []:
            rows = _attempt(db, partial(drop_day, table=table, day=day))
            if rows is None:
                done.put_off += 1
            else:
                done.dropped[table.table] = done.dropped.get(table.table, 0) + rows
    return done


def create_days(db: Database, table: Partitioned, days: Iterable[int]) -> int:
    """Create these days' partitions (one transaction each); returns how many were made."""
    made = (_attempt(db, partial(create_day, table=table, day=day)) for day in days)
    return sum(1 for created in made if created is not None)


def _attempt(db: Database, change: Callable[[Connection], int]) -> int | None:
    """``change`` in a transaction of its own; None when it failed (a lock not had within
    ``LOCK_TIMEOUT``, a row of the new day inserted into the default partition meanwhile)."""
    try:
        with db.write() as conn:
            return change(conn)
    except DBAPIError as error:
        log.warning("partition maintenance put off: %s", error.orig)
        return None

"""partition logs and spans: on PostgreSQL, log_records and spans become RANGE partitioned by
their time, one partition per UTC day in schema vedette_partitions plus a default one, so that
retention drops whole days (storage/partitions.py). A unique key of a partitioned table must
hold its partition key: the logs' (project_id, log_id) becomes (project_id, log_id, timestamp)
on both engines (a record is stored again only with its own timestamp: the same), the primary
keys on PostgreSQL (id, timestamp) and (project_id, trace_id, span_id, start_timestamp).
Every row is copied over. SQLite: log_records is rebuilt for its new unique key, nothing else.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

from vedette.storage.partitions import (
    AHEAD_DAYS,
    DAY,
    LOGS,
    SCHEMA,
    SPANS,
    Partitioned,
    bounds,
    day_of,
    partition_name,
)

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# Older days than this get no partition of their own when the rows are moved: they stay in
# the default partition, from which retention deletes them in batches.
BACKFILL_DAYS = 400
LOGS_KEY = ("pk_log_records", "uq_log_records_project_id")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("log_records", recreate="always") as table:
            table.drop_constraint(LOGS_KEY[1], type_="unique")
            table.create_unique_constraint(LOGS_KEY[1], ["project_id", "log_id", "timestamp"])
        _analyze_sqlite()
        return
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    _rebuild(LOGS, partitioned=True, keys={
        LOGS_KEY[0]: "PRIMARY KEY (id, timestamp)",
        LOGS_KEY[1]: "UNIQUE (project_id, log_id, timestamp)",
    })  # fmt: skip
    _rebuild(SPANS, partitioned=True, keys={
        "pk_spans": "PRIMARY KEY (project_id, trace_id, span_id, start_timestamp)",
    })  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("log_records", recreate="always") as table:
            table.drop_constraint(LOGS_KEY[1], type_="unique")
            table.create_unique_constraint(LOGS_KEY[1], ["project_id", "log_id"])
        _analyze_sqlite()
        return
    _rebuild(LOGS, partitioned=False, keys={
        LOGS_KEY[0]: "PRIMARY KEY (id)", LOGS_KEY[1]: "UNIQUE (project_id, log_id)",
    })  # fmt: skip
    _rebuild(SPANS, partitioned=False, keys={
        "pk_spans": "PRIMARY KEY (project_id, trace_id, span_id)",
    })  # fmt: skip
    op.execute(f"DROP SCHEMA {SCHEMA}")


def _analyze_sqlite() -> None:
    """The rebuilt table's statistics (the old ones went with it): without them SQLite reads
    a trace's logs by time instead of by their trace's index (1.4 s over a day at 2.76 M
    records). A whole ANALYZE took 3.6 s there; a sampled one (analysis_limit) misled the
    planner the same way."""
    op.execute("PRAGMA analysis_limit = 0")
    op.execute("ANALYZE log_records")


def _rebuild(table: Partitioned, partitioned: bool, keys: dict[str, str]) -> None:
    """Copy ``table`` into a new table of the same columns (partitioned or not), then put the
    new one in its place with ``keys`` (constraint name -> definition) and the old indexes,
    each rebuilt once after the copy from its own definition. A serial column's sequence goes
    on counting from where it was."""
    conn = op.get_bind()
    name, new = table.table, f"{table.table}_rebuilt"
    indexes = (
        conn.execute(
            sa.text(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = :t"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            ),
            {"t": name},
        )
        .scalars()
        .all()
    )
    layout = f' PARTITION BY RANGE ("{table.column}")' if partitioned else ""
    op.execute(f'CREATE TABLE "{new}" (LIKE "{name}" INCLUDING DEFAULTS){layout}')
    if partitioned:
        op.execute(f'CREATE TABLE {SCHEMA}."{table.default}" PARTITION OF "{new}" DEFAULT')
        for day in _days_with_rows(conn, table):
            op.execute(
                f'CREATE TABLE {SCHEMA}."{partition_name(name, day)}" PARTITION OF "{new}"'
                f" FOR VALUES {bounds(day)}"
            )
    op.execute(f'INSERT INTO "{new}" SELECT * FROM "{name}"')
    sequence = conn.scalar(sa.text(f"SELECT pg_get_serial_sequence('{name}', 'id')")) if (
        table is LOGS
    ) else None  # fmt: skip
    if sequence is not None:
        op.execute(f'ALTER SEQUENCE {sequence} OWNED BY "{new}".id')
    op.execute(f'DROP TABLE "{name}"')
    op.execute(f'ALTER TABLE "{new}" RENAME TO "{name}"')
    for constraint, definition in keys.items():
        op.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{constraint}" {definition}')
    for definition in indexes:  # a partitioned table's own reads "ON ONLY": not its partitions
        op.execute(definition.replace(" ON ONLY ", " ON "))


def _days_with_rows(conn: sa.Connection, table: Partitioned) -> list[int]:
    """The days of the rows there are (the last ``BACKFILL_DAYS``), today and the days ahead."""
    today = day_of(time.time())
    found = conn.execute(
        sa.text(
            f'SELECT DISTINCT floor("{table.column}" / {DAY})::bigint FROM "{table.table}"'
            f' WHERE "{table.column}" >= :start AND "{table.column}" < :end'
        ),
        {"start": (today - BACKFILL_DAYS) * DAY, "end": (today + AHEAD_DAYS + 1) * DAY},
    ).scalars()
    return sorted({int(day) for day in found} | set(range(today, today + AHEAD_DAYS + 1)))

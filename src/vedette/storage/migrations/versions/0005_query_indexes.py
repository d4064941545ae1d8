"""indexes for the slowest transactions and an issue's top tag values; op time per hour and day

The op rollups are filled from the per-minute rows already stored.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


ROLLUPS = (("perf_op_hours", "hour", 3600), ("perf_op_days", "day", 86400))


def upgrade() -> None:
    for table, period, seconds in ROLLUPS:
        op.create_table(
            table,
            sa.Column("project_id", sa.BigInteger(), nullable=False),
            sa.Column("transaction", sa.String(length=200), nullable=False),
            sa.Column(period, sa.BigInteger(), nullable=False),
            sa.Column("environment", sa.String(length=64), nullable=False),
            sa.Column("release", sa.String(length=200), nullable=False),
            sa.Column("op", sa.String(length=64), nullable=False),
            sa.Column("count", sa.BigInteger(), nullable=False),
            sa.Column("exclusive_sum", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint(
                "project_id",
                "transaction",
                period,
                "environment",
                "release",
                "op",
                name=op.f(f"pk_{table}"),
            ),
        )
        start = f"minute - minute % {seconds}"
        op.execute(
            f'INSERT INTO {table} (project_id, "transaction", {period}, environment, release,'
            f' op, count, exclusive_sum) SELECT project_id, "transaction", {start},'
            " environment, release, op, sum(count), sum(exclusive_sum) FROM perf_op_minutes"
            f' GROUP BY project_id, "transaction", {start}, environment, release, op'
        )
    op.create_index(
        "ix_spans_segments_by_duration",
        "spans",
        ["project_id", "transaction", "duration", "span_id"],
        sqlite_where=sa.text("is_segment IS 1"),
        postgresql_where=sa.text("is_segment IS TRUE"),
    )
    op.create_index(
        "ix_group_tag_values_group_key_times_seen",
        "group_tag_values",
        ["group_id", "key", "times_seen"],
    )


def downgrade() -> None:
    op.drop_index("ix_group_tag_values_group_key_times_seen", table_name="group_tag_values")
    op.drop_index("ix_spans_segments_by_duration", table_name="spans")
    for table, _, _ in ROLLUPS:
        op.drop_table(table)

"""packed day histograms: finished days of perf_day_histograms packed into one row per
(project, kind, name, day, environment, release), and one per (project, kind, name, day) for
all environments and releases, so a 14-day percentile reads hundreds of times fewer rows. The
detailed rows stay until the worker's housekeeping packs them; until then they answer as
before.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import struct

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "perf_day_histogram_packs",
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("release", sa.String(length=200), nullable=False),
        sa.Column("buckets", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id",
            "kind",
            "name",
            "day",
            "environment",
            "release",
            name=op.f("pk_perf_day_histogram_packs"),
        ),
    )
    op.create_table(
        "perf_day_histogram_packs_all",
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("buckets", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id", "kind", "name", "day", name=op.f("pk_perf_day_histogram_packs_all")
        ),
    )


def downgrade() -> None:
    """Unpack every pack back into detailed rows (added to any left), then drop the packs (the
    packs of all environments and releases hold the same counts again)."""
    conn = op.get_bind()
    keys = ("project_id", "kind", "name", "day", "environment", "release")
    packs = sa.table("perf_day_histogram_packs", *(sa.column(k) for k in (*keys, "buckets")))
    add = sa.text(
        "INSERT INTO perf_day_histograms"
        " (project_id, kind, name, day, environment, release, bucket, count)"
        " VALUES (:project_id, :kind, :name, :day, :environment, :release, :bucket, :count)"
        " ON CONFLICT (project_id, kind, name, day, environment, release, bucket)"
        " DO UPDATE SET count = perf_day_histograms.count + excluded.count"
    )
    for row in conn.execute(sa.select(packs)).mappings():
        key = {k: row[k] for k in keys}
        pairs = len(row["buckets"]) // 12  # int32 buckets, then int64 counts, little-endian
        buckets = struct.unpack_from(f"<{pairs}i", row["buckets"])
        counts = struct.unpack_from(f"<{pairs}q", row["buckets"], pairs * 4)
        conn.execute(
            add,
            [{**key, "bucket": b, "count": n} for b, n in zip(buckets, counts, strict=True)],
        )
    op.drop_table("perf_day_histogram_packs_all")
    op.drop_table("perf_day_histogram_packs")

"""packed hour histograms: finished hours of perf_hour_histograms packed as days are (0028),
into one row per (project, kind, name, hour, environment, release) and one per (project, kind,
name, hour), so the hours at a long window's edges are read from thousands of rows instead of
hundreds of thousands. The detailed rows stay until the worker's housekeeping packs them;
until then they answer as before.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import struct

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

_KEYS = ("project_id", "kind", "name", "hour", "environment", "release")


def upgrade() -> None:
    op.create_table(
        "perf_hour_histogram_packs",
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("release", sa.String(length=200), nullable=False),
        sa.Column("buckets", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(*_KEYS, name=op.f("pk_perf_hour_histogram_packs")),
    )
    op.create_table(
        "perf_hour_histogram_packs_all",
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("buckets", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(*_KEYS[:4], name=op.f("pk_perf_hour_histogram_packs_all")),
    )


def downgrade() -> None:
    """Unpack every pack back into detailed rows (added to any left), then drop the packs (the
    packs of all environments and releases hold the same counts again)."""
    conn = op.get_bind()
    packs = sa.table("perf_hour_histogram_packs", *(sa.column(k) for k in (*_KEYS, "buckets")))
    add = sa.text(
        f"INSERT INTO perf_hour_histograms ({', '.join(_KEYS)}, bucket, count)"
        f" VALUES ({', '.join(':' + k for k in _KEYS)}, :bucket, :count)"
        f" ON CONFLICT ({', '.join(_KEYS)}, bucket)"
        " DO UPDATE SET count = perf_hour_histograms.count + excluded.count"
    )
    for row in conn.execute(sa.select(packs)).mappings():
        key = {k: row[k] for k in _KEYS}
        pairs = len(row["buckets"]) // 12  # int32 buckets, then int64 counts, little-endian
        buckets = struct.unpack_from(f"<{pairs}i", row["buckets"])
        counts = struct.unpack_from(f"<{pairs}q", row["buckets"], pairs * 4)
        conn.execute(
            add,
            [{**key, "bucket": b, "count": n} for b, n in zip(buckets, counts, strict=True)],
        )
    op.drop_table("perf_hour_histogram_packs_all")
    op.drop_table("perf_hour_histogram_packs")

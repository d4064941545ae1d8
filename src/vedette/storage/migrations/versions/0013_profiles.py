"""profiles: transaction profiles and continuous profile chunks

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("profile_id", sa.String(32), nullable=False),
        sa.Column("profiler_id", sa.String(32), nullable=True),
        sa.Column("transaction_id", sa.String(32), nullable=True),
        sa.Column("transaction_name", sa.String(200), nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.Column("release", sa.String(200), nullable=True),
        sa.Column("environment", sa.String(64), nullable=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("start_timestamp", sa.Float(), nullable=False),
        sa.Column("end_timestamp", sa.Float(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("project_id", "profile_id", name="uq_profiles_project_id"),
    )
    op.create_index(
        "ix_profiles_project_transaction",
        "profiles",
        ["project_id", "transaction_name", "start_timestamp"],
    )
    op.create_index(
        "ix_profiles_project_profiler", "profiles", ["project_id", "profiler_id", "start_timestamp"]
    )
    op.create_index("ix_profiles_project_start", "profiles", ["project_id", "start_timestamp"])


def downgrade() -> None:
    op.drop_table("profiles")

"""per-key rate limits; read-only and revocable API tokens

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project_keys") as batch:
        batch.add_column(sa.Column("rate_limit_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rate_limit_window", sa.Integer(), nullable=True))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("read_only", sa.Boolean(), server_default="0", nullable=False))
        batch.add_column(sa.Column("revoked_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("read_only")
    with op.batch_alter_table("project_keys") as batch:
        batch.drop_column("rate_limit_window")
        batch.drop_column("rate_limit_count")

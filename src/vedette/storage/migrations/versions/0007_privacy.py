"""privacy: organization and project data scrubbing settings

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organization_privacy",
        sa.Column("organization_id", sa.BigInteger(), primary_key=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "project_privacy",
        sa.Column("project_id", sa.BigInteger(), primary_key=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("project_privacy")
    op.drop_table("organization_privacy")

"""event grouping hash and merged issues' redirects: each error event records the grouping hash
it was grouped by (its primary hash, what an unmerge splits by; NULL for events stored before),
and a merged issue's id points at the issue it was merged into

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as table:
        table.add_column(sa.Column("grouping_hash", sa.String(32), nullable=True))
    op.create_table(
        "group_redirects",
        sa.Column("previous_group_id", sa.BigInteger(), primary_key=True),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_group_redirects_group_id", "group_redirects", ["group_id"])


def downgrade() -> None:
    op.drop_table("group_redirects")
    with op.batch_alter_table("events") as table:
        table.drop_column("grouping_hash")

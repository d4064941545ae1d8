"""roles: a member's role in an organisation, and the role an invitation gives

Existing members become owners: before roles, every member could do everything.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("memberships") as table:
        table.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="member"))
    op.execute("UPDATE memberships SET role = 'owner'")
    op.add_column("account_tokens", sa.Column("role", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("account_tokens", "role")
    with op.batch_alter_table("memberships") as table:
        table.drop_column("role")

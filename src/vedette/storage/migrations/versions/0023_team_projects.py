"""team projects: the projects a team owns, and whether an organisation's members see all its
projects (open membership, the default) or only their teams' ones

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_projects",
        sa.Column("team_id", sa.BigInteger(), primary_key=True),
        sa.Column("project_id", sa.BigInteger(), primary_key=True),
    )
    op.create_index("ix_team_projects_project", "team_projects", ["project_id"])
    with op.batch_alter_table("organizations") as table:
        table.add_column(
            sa.Column("open_membership", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("organizations") as table:
        table.drop_column("open_membership")
    op.drop_table("team_projects")

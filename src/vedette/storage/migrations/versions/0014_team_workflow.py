"""team workflow: teams, issue assignment, comments and activity

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_teams_organization_id_organizations",
        ),
        sa.UniqueConstraint("organization_id", "slug", name="uq_teams_organization_id"),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", _ID, primary_key=True),
        sa.Column("user_id", _ID, primary_key=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_team_members_team_id_teams"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_team_members_user_id_users"),
    )
    op.create_table(
        "group_assignees",
        sa.Column("group_id", sa.BigInteger(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("assigned_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_group_assignees_user_id", "group_assignees", ["user_id"])
    op.create_index("ix_group_assignees_team_id", "group_assignees", ["team_id"])
    op.create_table(
        "group_activity",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_group_activity_group_created", "group_activity", ["group_id", "created_at"])


def downgrade() -> None:
    op.drop_table("group_activity")
    op.drop_table("group_assignees")
    op.drop_table("team_members")
    op.drop_table("teams")

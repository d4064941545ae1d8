"""issue trackers: a project's tracker settings and the tracker URLs linked to issues

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "project_trackers",
        sa.Column("project_id", sa.BigInteger(), primary_key=True),
        sa.Column("github_repo", sa.String(500), nullable=True),
        sa.Column("gitlab_project", sa.String(500), nullable=True),
        sa.Column("jira_base", sa.String(500), nullable=True),
        sa.Column("jira_project_id", sa.String(20), nullable=True),
        sa.Column("jira_issue_type", sa.String(20), nullable=True),
    )
    op.create_table(
        "group_links",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_group_links_group", "group_links", ["group_id"])


def downgrade() -> None:
    op.drop_table("group_links")
    op.drop_table("project_trackers")

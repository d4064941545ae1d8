"""an index of a project's issues by times seen: the issue list sorted by events (sort=freq)
reads the first page from it instead of counting the users of every issue and sorting them

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_groups_project_times_seen", "groups", ["project_id", "times_seen", "id"])


def downgrade() -> None:
    op.drop_index("ix_groups_project_times_seen", table_name="groups")

"""log search: an index on (project, level, time) so that a level-filtered search reads only
the records of its levels, newest first (docs/benchmarks.md, "Logs")

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_log_records_project_level_timestamp",
        "log_records",
        ["project_id", "level", "timestamp", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_log_records_project_level_timestamp", table_name="log_records")

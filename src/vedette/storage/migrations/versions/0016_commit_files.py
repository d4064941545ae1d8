"""commit files: the paths each commit of a release touched (sentry-cli's patch_set), for
suspect commits

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("release_commits", sa.Column("files", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("release_commits", "files")

"""upload chunk owners: which organisation uploaded which chunk, so that a checksum another
organisation uploaded is missing to it. Chunks that files use are owned by those files'
organisations; chunks no file uses yet are owned by nobody (sentry-cli uploads what the
assemble call says is missing).

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_chunk_owners",
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sa.String(length=40), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "checksum", name=op.f("pk_upload_chunk_owners")),
    )
    op.create_index(
        op.f("ix_upload_chunk_owners_uploaded_at"), "upload_chunk_owners", ["uploaded_at"]
    )
    op.execute(
        "INSERT INTO upload_chunk_owners (organization_id, checksum, uploaded_at)"
        " SELECT f.organization_id, c.checksum, MAX(f.created_at)"
        " FROM upload_file_chunks c JOIN upload_files f ON f.id = c.file_id"
        " GROUP BY f.organization_id, c.checksum"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_upload_chunk_owners_uploaded_at"), table_name="upload_chunk_owners")
    op.drop_table("upload_chunk_owners")

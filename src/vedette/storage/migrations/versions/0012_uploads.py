"""uploads: chunks by SHA-1 and the files assembled from them

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "upload_chunks",
        sa.Column("checksum", sa.String(40), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "upload_files",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("checksum", sa.String(40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("release", sa.String(200), nullable=True),
        sa.Column("dist", sa.String(64), nullable=True),
        sa.Column("debug_id", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_upload_files_org_kind_checksum",
        "upload_files",
        ["organization_id", "kind", "checksum"],
    )
    op.create_table(
        "upload_file_chunks",
        sa.Column("file_id", sa.BigInteger(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("checksum", sa.String(40), nullable=False),
    )
    op.create_index("ix_upload_file_chunks_checksum", "upload_file_chunks", ["checksum"])


def downgrade() -> None:
    op.drop_table("upload_file_chunks")
    op.drop_table("upload_files")
    op.drop_table("upload_chunks")

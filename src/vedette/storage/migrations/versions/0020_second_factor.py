"""second factor: a user's TOTP secret and their single-use recovery codes

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "user_totp",
        sa.Column("user_id", sa.BigInteger(), primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("confirmed_at", sa.Float(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("recovery_codes")
    op.drop_table("user_totp")

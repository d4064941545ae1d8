"""user API tokens with scopes: a token may belong to a user (bounded by the user's role in its
organisation) and name its scopes (NULL for older tokens: all scopes, or the read ones)

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.add_column(
            sa.Column(
                "user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        table.add_column(sa.Column("scopes", sa.String(500), nullable=True))
        table.create_foreign_key(
            "fk_api_tokens_user_id_users", "users", ["user_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.drop_constraint("fk_api_tokens_user_id_users", type_="foreignkey")
        table.drop_column("scopes")
        table.drop_column("user_id")

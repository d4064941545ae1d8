"""logs and user feedback: log_records, user_feedback

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "log_records",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("log_id", sa.String(32), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("severity_number", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.Column("span_id", sa.String(16), nullable=True),
        sa.Column("release", sa.String(200), nullable=True),
        sa.Column("environment", sa.String(64), nullable=True),
        sa.Column("sdk", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_log_records"),
        sa.UniqueConstraint("project_id", "log_id", name="uq_log_records_project_id"),
    )
    op.create_index(
        "ix_log_records_project_timestamp", "log_records", ["project_id", "timestamp", "id"]
    )
    op.create_index("ix_log_records_project_trace", "log_records", ["project_id", "trace_id"])
    op.create_table(
        "user_feedback",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("feedback_id", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(32), nullable=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("email", sa.String(75), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("release", sa.String(200), nullable=True),
        sa.Column("environment", sa.String(64), nullable=True),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_user_feedback"),
        sa.UniqueConstraint("project_id", "feedback_id", name="uq_user_feedback_project_id"),
    )
    op.create_index(
        "ix_user_feedback_project_timestamp", "user_feedback", ["project_id", "timestamp"]
    )
    op.create_index("ix_user_feedback_project_event", "user_feedback", ["project_id", "event_id"])


def downgrade() -> None:
    op.drop_table("user_feedback")
    op.drop_table("log_records")

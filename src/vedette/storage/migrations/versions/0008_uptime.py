"""uptime: HTTP(S) monitors, their check results and hourly / daily roll-ups; status pages

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "uptime_monitors",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status_min", sa.Integer(), nullable=False),
        sa.Column("status_max", sa.Integer(), nullable=False),
        sa.Column("body_contains", sa.Text(), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("timeout_ms", sa.Integer(), nullable=False),
        sa.Column("follow_redirects", sa.Boolean(), nullable=False),
        sa.Column("environment", sa.String(64), nullable=True),
        sa.Column("failure_threshold", sa.Integer(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("next_check_at", sa.Float(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_checked_at", sa.Float(), nullable=True),
        sa.Column("issue_id", sa.BigInteger(), nullable=True),
        sa.Column("tls_issue_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_uptime_monitors_project_id_projects"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_uptime_monitors"),
    )
    op.create_index("ix_uptime_monitors_project_id", "uptime_monitors", ["project_id"])
    op.create_index("ix_uptime_monitors_next_check_at", "uptime_monitors", ["next_check_at"])
    op.create_table(
        "uptime_checks",
        sa.Column("id", Id, primary_key=True),
        sa.Column("monitor_id", sa.BigInteger(), nullable=False),
        sa.Column("checked_at", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("error_class", sa.String(16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("certificate_expires_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_uptime_checks"),
    )
    op.create_index(
        "ix_uptime_checks_monitor_checked", "uptime_checks", ["monitor_id", "checked_at"]
    )
    op.create_table(
        "uptime_rollups",
        sa.Column("monitor_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("monitor_id", "period", "start", name="pk_uptime_rollups"),
    )
    op.create_table(
        "status_pages",
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", name="pk_status_pages"),
    )


def downgrade() -> None:
    op.drop_table("status_pages")
    op.drop_table("uptime_rollups")
    op.drop_index("ix_uptime_checks_monitor_checked", table_name="uptime_checks")
    op.drop_table("uptime_checks")
    op.drop_index("ix_uptime_monitors_next_check_at", table_name="uptime_monitors")
    op.drop_index("ix_uptime_monitors_project_id", table_name="uptime_monitors")
    op.drop_table("uptime_monitors")

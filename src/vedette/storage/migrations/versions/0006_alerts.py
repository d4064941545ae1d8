"""alerts: rules, actions, firings, the notification outbox; issue snoozes

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("snooze_until", sa.Float(), nullable=True))
        batch.add_column(sa.Column("snooze_times_seen", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("snooze_user_count", sa.BigInteger(), nullable=True))
    op.create_table(
        "alert_rules",
        sa.Column("id", Id, primary_key=True),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("warning_threshold", sa.Float(), nullable=True),
        sa.Column("window_seconds", sa.Integer(), nullable=True),
        sa.Column("min_count", sa.Integer(), nullable=True),
        sa.Column("metric", sa.String(16), nullable=True),
        sa.Column("transaction", sa.String(200), nullable=True),
        sa.Column("filter_query", sa.Text(), nullable=False, server_default=""),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("digest_seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("state", sa.String(16), nullable=False, server_default="ok"),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_digest_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_alert_rules_project_id_projects"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_rules"),
    )
    op.create_index("ix_alert_rules_project_id", "alert_rules", ["project_id"])
    op.create_table(
        "alert_actions",
        sa.Column("id", Id, primary_key=True),
        sa.Column("rule_id", Id, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name="fk_alert_actions_rule_id_alert_rules",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_actions"),
    )
    op.create_index("ix_alert_actions_rule_id", "alert_actions", ["rule_id"])
    op.create_table(
        "alert_firings",
        sa.Column("id", Id, primary_key=True),
        sa.Column("rule_id", Id, nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("event_id", sa.String(32), nullable=True),
        sa.Column("fired_at", sa.Float(), nullable=False),
        sa.Column("delivery", sa.String(16), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name="fk_alert_firings_rule_id_alert_rules",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_firings"),
    )
    op.create_index(
        "ix_alert_firings_rule_group_fired", "alert_firings", ["rule_id", "group_id", "fired_at"]
    )
    op.create_index("ix_alert_firings_project_fired", "alert_firings", ["project_id", "fired_at"])
    op.create_index("ix_alert_firings_delivery_rule", "alert_firings", ["delivery", "rule_id"])
    op.create_table(
        "alert_suppression_summaries",
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "hour", name="pk_alert_suppression_summaries"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", Id, primary_key=True),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column("action_id", sa.BigInteger(), nullable=True),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("uid", name="uq_notifications_uid"),
    )
    op.create_index("ix_notifications_rule_id", "notifications", ["rule_id"])
    op.create_index(
        "ix_notifications_status_next_attempt", "notifications", ["status", "next_attempt_at"]
    )
    op.create_table(
        "notification_attempts",
        sa.Column("id", Id, primary_key=True),
        sa.Column("notification_id", Id, nullable=False),
        sa.Column("attempted_at", sa.Float(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name="fk_notification_attempts_notification_id_notifications",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notification_attempts"),
    )
    op.create_index(
        "ix_notification_attempts_notification_id", "notification_attempts", ["notification_id"]
    )
    op.create_table(
        "alert_open_incidents",
        sa.Column("action_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("action_id", "group_id", name="pk_alert_open_incidents"),
    )


def downgrade() -> None:
    for table in (
        "alert_open_incidents",
        "notification_attempts",
        "notifications",
        "alert_suppression_summaries",
        "alert_firings",
        "alert_actions",
        "alert_rules",
    ):
        op.drop_table(table)
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("snooze_user_count")
        batch.drop_column("snooze_times_seen")
        batch.drop_column("snooze_until")

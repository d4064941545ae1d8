"""releases: release metadata, projects, repositories, commits, authors and deploys

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "release_meta",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("ref", sa.String(200), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("date_created", sa.Float(), nullable=False),
        sa.Column("date_started", sa.Float(), nullable=True),
        sa.Column("date_released", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_release_meta_organization_id_organizations",
        ),
        sa.UniqueConstraint("organization_id", "version", name="uq_release_meta_organization_id"),
    )
    op.create_table(
        "release_projects",
        sa.Column("release_id", sa.BigInteger(), primary_key=True),
        sa.Column("project_id", sa.BigInteger(), primary_key=True),
    )
    op.create_table(
        "repositories",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("date_created", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_repositories_organization_id_organizations",
        ),
        sa.UniqueConstraint("organization_id", "name", name="uq_repositories_organization_id"),
    )
    op.create_table(
        "commit_authors",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.UniqueConstraint("organization_id", "email", name="uq_commit_authors_organization_id"),
    )
    op.create_table(
        "release_commits",
        sa.Column("release_id", sa.BigInteger(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("repository_id", sa.BigInteger(), nullable=True),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("date_created", sa.Float(), nullable=True),
    )
    op.create_table(
        "release_deploys",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("release_id", sa.BigInteger(), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("date_started", sa.Float(), nullable=True),
        sa.Column("date_finished", sa.Float(), nullable=False),
    )
    op.create_index("ix_release_deploys_release_id", "release_deploys", ["release_id"])


def downgrade() -> None:
    for table in (
        "release_deploys",
        "release_commits",
        "commit_authors",
        "repositories",
        "release_projects",
        "release_meta",
    ):
        op.drop_table(table)

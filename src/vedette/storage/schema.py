"""Every table Vedette stores, as SQLAlchemy Core. Alembic migrations are checked against this."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only aliases ROWID for a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")

organizations = Table(
    "organizations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Id, primary_key=True),
    Column("organization_id", ForeignKey("organizations.id"), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("next_short_id", Integer, nullable=False, server_default="0"),
    UniqueConstraint("organization_id", "slug"),
)

project_keys = Table(
    "project_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False, index=True),
    Column("public_key", String(32), nullable=False, unique=True),
    Column("label", String(200), nullable=False, server_default="Default"),
    Column("is_active", Boolean, nullable=False, server_default="1"),
    Column("created_at", Float, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    # sha256 of the token: a leaked database does not leak usable tokens.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(200), nullable=False, server_default=""),
    # NULL: the token may read every organisation (created by the operator on the CLI).
    Column("organization_id", ForeignKey("organizations.id"), nullable=True),
    Column("created_at", Float, nullable=False),
)


def _spool_table(target: MetaData) -> Table:
    """The durability boundary: raw decompressed envelopes, committed before the 200 goes out.

    AUTOINCREMENT on SQLite: ids must never be reused, since the file spool's reader resumes
    after the last id it consumed.
    """
    return Table(
        "spool",
        target,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("project_id", BigInteger, nullable=False),
        Column("received_at", Float, nullable=False),
        Column("client_ip", String(64), nullable=True),
        Column("payload", LargeBinary, nullable=False),
        Column("lease_until", Float, nullable=True),
        sqlite_autoincrement=True,
    )


# PostgreSQL keeps the spool inside the main database (several processes share it).
spool = _spool_table(metadata)

# SQLite keeps it in a file of its own, so that acknowledging a request never waits for the
# worker's write transactions on the main database (and vice versa).
spool_file_metadata = MetaData()
spool_file = _spool_table(spool_file_metadata)

# How far the worker has consumed the SQLite spool file; advanced in the same transaction that
# stores the results, which is what makes the file spool exactly-once.
spool_cursor = Table(
    "spool_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_id", BigInteger, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Id, primary_key=True),
    Column("spool_id", BigInteger, nullable=False),
    Column("project_id", BigInteger, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("client_ip", String(64), nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("failed_at", Float, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("short_id", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("culprit", Text, nullable=False),
    Column("level", String(16), nullable=False),
    Column("type", String(32), nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("platform", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("substatus", String(32), nullable=True),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("times_seen", BigInteger, nullable=False),
    Column("first_release", String(200), nullable=True),
    Column("last_release", String(200), nullable=True),
    Column("resolved_at", Float, nullable=True),
    # For resolvedInNextRelease: the newest release known when the user resolved.
    Column("resolved_in_release", String(200), nullable=True),
    Column("grouping_strategy", String(64), nullable=False),
    UniqueConstraint("project_id", "short_id"),
    Index("ix_groups_project_last_seen", "project_id", "last_seen"),
)

group_hashes = Table(
    "group_hashes",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("hash", String(32), primary_key=True),
    Column("strategy", String(64), nullable=False),
    Column("group_id", ForeignKey("groups.id"), nullable=False, index=True),
)

group_tag_values = Table(
    "group_tag_values",
    metadata,
    Column("group_id", ForeignKey("groups.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", String(200), primary_key=True),
    Column("times_seen", BigInteger, nullable=False),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Index("ix_group_tag_values_key_value", "key", "value"),
)

group_users = Table(
    "group_users",
    metadata,
    Column("group_id", ForeignKey("groups.id"), primary_key=True),
    Column("user_key", String(200), primary_key=True),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("event_id", String(32), nullable=False),
    Column("group_id", ForeignKey("groups.id"), nullable=True),
    Column("type", String(16), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("received", Float, nullable=False),
    Column("level", String(16), nullable=True),
    Column("release", String(200), nullable=True),
    Column("environment", String(64), nullable=True),
    Column("transaction", String(200), nullable=True),
    Column("trace_id", String(32), nullable=True),
    Column("title", Text, nullable=False),
    # zstd-compressed JSON of the normalised event.
    Column("data", LargeBinary, nullable=False),
    UniqueConstraint("project_id", "event_id"),
    Index("ix_events_group_timestamp", "group_id", "timestamp"),
    Index("ix_events_project_type_timestamp", "project_id", "type", "timestamp"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", BigInteger, nullable=False),
    Column("event_id", String(32), nullable=False, index=True),
    Column("name", String(256), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("attachment_type", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    UniqueConstraint("project_id", "event_id", "name"),
)

releases = Table(
    "releases",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("version", String(200), primary_key=True),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
)

# Counts of what came in and what became of it, per hour (Sentry's "outcomes").
outcomes = Table(
    "outcomes",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("hour", BigInteger, primary_key=True),
    Column("category", String(32), primary_key=True),
    Column("outcome", String(32), primary_key=True),
    Column("reason", String(64), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
)

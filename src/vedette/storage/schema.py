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
    text,
    true,
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
    # Members see every project (Sentry's "open membership"); off: only their teams' projects
    # (admins and above still see all). docs/workflow.md, "Roles".
    Column("open_membership", Boolean, nullable=False, server_default=true()),
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
    # Apdex threshold T in ms (Sentry's project setting, default 300 ms, metric duration).
    Column("apdex_threshold", Float, nullable=False, server_default="300"),
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
    # Sentry's per-key rateLimit: at most ``count`` events per ``window`` seconds (NULL: none).
    Column("rate_limit_count", Integer, nullable=True),
    Column("rate_limit_window", Integer, nullable=True),
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
    # Read-only tokens may only GET; a revoked token authenticates nothing.
    Column("read_only", Boolean, nullable=False, server_default="0"),
    Column("revoked_at", Float, nullable=True),
    # A user's token (storage/tokens.py): bounded by the user's role in its organisation.
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    # Space-separated scopes; NULL for tokens made before scopes (all, or the read ones).
    Column("scopes", String(500), nullable=True),
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
    # "error", "default", ... or a performance issue type like
    # "performance_n_plus_one_db_queries" (Sentry's names; 33 characters).
    Column("type", String(64), nullable=False),
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
    # Ignored "until": the issue comes back (substatus "escalating") once any condition holds.
    Column("snooze_until", Float, nullable=True),  # a date
    Column("snooze_times_seen", BigInteger, nullable=True),  # times_seen reaching this
    Column("snooze_user_count", BigInteger, nullable=True),  # distinct users reaching this
    UniqueConstraint("project_id", "short_id"),
    Index("ix_groups_project_last_seen", "project_id", "last_seen"),
    # The issue list by events (sort=freq): its page in index order, where a sort of every
    # issue computed each one's user count first (migration 0027).
    Index("ix_groups_project_times_seen", "project_id", "times_seen", "id"),
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
    # An issue's most frequent values of a key without sorting them all (a busy issue has a
    # value per user), and its per-key counts from the index alone.
    Index("ix_group_tag_values_group_key_times_seen", "group_id", "key", "times_seen"),
)

group_users = Table(
    "group_users",
    metadata,
    Column("group_id", ForeignKey("groups.id"), primary_key=True),
    Column("user_key", String(200), primary_key=True),
)

# A merged issue's id -> the issue it was merged into (Sentry's GroupRedirect): its old links
# lead there. No foreign key: retention deletes issues without looking here.
group_redirects = Table(
    "group_redirects",
    metadata,
    Column("previous_group_id", BigInteger, primary_key=True),
    Column("group_id", BigInteger, nullable=False, index=True),
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
    # An error's primary grouping hash, what an unmerge splits by (storage/unmerge.py); NULL
    # for transactions and for events stored before migration 0024.
    Column("grouping_hash", String(32), nullable=True),
    UniqueConstraint("project_id", "event_id"),
    Index("ix_events_group_timestamp", "group_id", "timestamp"),
    Index("ix_events_project_type_timestamp", "project_id", "type", "timestamp"),
    Index("ix_events_project_trace", "project_id", "trace_id"),
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


# -- performance: spans, transactions and their rollups -------------------------------------

# Recent span detail: every transaction's root span (is_segment) and children, and every span
# of span v2 containers, keyed like Sentry's (trace_id, span_id). Durations in ms.
# On PostgreSQL partitioned by day of start_timestamp, which the primary key holds there too
# (migration 0026, storage/partitions.py).
spans = Table(
    "spans",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("trace_id", String(32), primary_key=True),
    Column("span_id", String(16), primary_key=True),
    Column("parent_span_id", String(16), nullable=True),
    Column("segment_id", String(16), nullable=True),
    Column("event_id", String(32), nullable=True),
    Column("transaction", String(200), nullable=True),
    Column("op", String(64), nullable=True),
    Column("description", Text, nullable=True),
    Column("span_group", String(16), nullable=True),
    Column("status", String(32), nullable=True),
    Column("start_timestamp", Float, nullable=False),
    Column("duration", Float, nullable=False),
    Column("exclusive_time", Float, nullable=False),
    Column("is_segment", Boolean, nullable=False),
    Column("release", String(200), nullable=True),
    Column("environment", String(64), nullable=True),
    Column("data", JSON, nullable=True),
    Index("ix_spans_project_transaction_start", "project_id", "transaction", "start_timestamp"),
    Index("ix_spans_project_start", "project_id", "start_timestamp"),
    # A transaction's slowest segments, read in duration order (only segments: one span in 21
    # here). The predicate is the query's own (storage/performance_queries.py): SQLite matches
    # it as text.
    Index(
        "ix_spans_segments_by_duration",
        "project_id",
        "transaction",
        "duration",
        "span_id",
        sqlite_where=text("is_segment IS 1"),
        postgresql_where=text("is_segment IS TRUE"),
    ),
)


# Compact aggregates for the long run, one row per (project, kind, name, minute, environment,
# release): kind "transaction" (name = transaction) or "span" (name = a db span group).
# environment and release are '' when absent (key columns cannot be NULL). The same rows are
# rolled up per hour and per UTC day: a 14-day query reads whole days plus the hours and
# minutes at its edges, not 20,160 minutes (2.2 s -> see docs/performance.md).
def _perf_totals(name: str, period: str) -> Table:
    return Table(
        name,
        metadata,
        Column("project_id", BigInteger, primary_key=True),
        Column("kind", String(16), primary_key=True),
        Column("name", String(200), primary_key=True),
        Column(period, BigInteger, primary_key=True),  # its start, unix seconds
        Column("environment", String(64), primary_key=True),
        Column("release", String(200), primary_key=True),
        Column("count", BigInteger, nullable=False),
        Column("failures", BigInteger, nullable=False),
        Column("satisfied", BigInteger, nullable=False),
        Column("tolerating", BigInteger, nullable=False),
        Column("duration_sum", Float, nullable=False),
        Index(f"ix_{name}_project_kind_{period}", "project_id", "kind", period),
    )


# The mergeable duration histogram of the same keys (domain/histogram.py), one row per
# non-empty bucket: SQL merges periods by summing counts.
def _perf_histograms(name: str, period: str) -> Table:
    return Table(
        name,
        metadata,
        Column("project_id", BigInteger, primary_key=True),
        Column("kind", String(16), primary_key=True),
        Column("name", String(200), primary_key=True),
        Column(period, BigInteger, primary_key=True),
        Column("environment", String(64), primary_key=True),
        Column("release", String(200), primary_key=True),
        Column("bucket", Integer, primary_key=True),
        Column("count", BigInteger, nullable=False),
        Index(f"ix_{name}_project_kind_{period}", "project_id", "kind", period),
    )


perf_minutes = _perf_totals("perf_minutes", "minute")
perf_histograms = _perf_histograms("perf_histograms", "minute")
perf_hours = _perf_totals("perf_hours", "hour")
perf_hour_histograms = _perf_histograms("perf_hour_histograms", "hour")
perf_days = _perf_totals("perf_days", "day")
perf_day_histograms = _perf_histograms("perf_day_histograms", "day")


# Finished days and hours of perf_day_histograms and perf_hour_histograms packed by
# storage/histogram_compaction.py: one row per (project, kind, name, period, environment,
# release) holding all its (bucket, count) pairs, about 50 detailed day rows in one, and one per
# (project, kind, name, period) for all environments and releases together (what an unfiltered
# window reads). Reads add them to whatever detailed rows remain.
def _perf_histogram_packs(name: str, period: str, *split: str) -> Table:
    """Packs per ``split`` key columns (environment and release), or of them all when none."""
    lengths = {"environment": 64, "release": 200}
    return Table(
        name,
        metadata,
        Column("project_id", BigInteger, primary_key=True),
        Column("kind", String(16), primary_key=True),
        Column("name", String(200), primary_key=True),
        Column(period, BigInteger, primary_key=True),
        *(Column(column, String(lengths[column]), primary_key=True) for column in split),
        Column("buckets", LargeBinary, nullable=False),
    )


_SPLIT = ("environment", "release")
perf_day_histogram_packs = _perf_histogram_packs("perf_day_histogram_packs", "day", *_SPLIT)
perf_day_histogram_packs_all = _perf_histogram_packs("perf_day_histogram_packs_all", "day")
perf_hour_histogram_packs = _perf_histogram_packs("perf_hour_histogram_packs", "hour", *_SPLIT)
perf_hour_histogram_packs_all = _perf_histogram_packs("perf_hour_histogram_packs_all", "hour")


# Time by span op category (db, http, ...) per transaction: exclusive time and span count; per
# minute, and rolled up per hour and UTC day as the totals are (a 14-day summary read 20,000
# minutes of op rows five times).
def _perf_ops(name: str, period: str) -> Table:
    return Table(
        name,
        metadata,
        Column("project_id", BigInteger, primary_key=True),
        Column("transaction", String(200), primary_key=True),
        Column(period, BigInteger, primary_key=True),
        Column("environment", String(64), primary_key=True),
        Column("release", String(200), primary_key=True),
        Column("op", String(64), primary_key=True),
        Column("count", BigInteger, nullable=False),
        Column("exclusive_sum", Float, nullable=False),
    )


perf_op_minutes = _perf_ops("perf_op_minutes", "minute")
perf_op_hours = _perf_ops("perf_op_hours", "hour")
perf_op_days = _perf_ops("perf_op_days", "day")

# What a db span group stands for, with an example to click through to.
span_groups = Table(
    "span_groups",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("span_group", String(16), primary_key=True),
    Column("op", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("example_trace_id", String(32), nullable=False),
    Column("example_span_id", String(16), nullable=False),
    Column("example_event_id", String(32), nullable=True),
    Column("example_transaction", String(200), nullable=True),
)

# -- release health: sessions per release ---------------------------------------------------

release_sessions = Table(
    "release_sessions",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("release", String(200), primary_key=True),
    Column("environment", String(64), primary_key=True),
    Column("bucket", BigInteger, primary_key=True),  # hour of `started`, unix seconds
    Column("total", BigInteger, nullable=False),
    Column("unhealthy", BigInteger, nullable=False),
    Column("crashed", BigInteger, nullable=False),
    Column("abnormal", BigInteger, nullable=False),
    Column("exited_with_duration", BigInteger, nullable=False),
    Column("duration_sum", Float, nullable=False),
    Index("ix_release_sessions_project_bucket", "project_id", "bucket"),
)

# Distinct users (hashed did) per bucket, for crash-free users.
release_session_users = Table(
    "release_session_users",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("release", String(200), primary_key=True),
    Column("environment", String(64), primary_key=True),
    Column("bucket", BigInteger, primary_key=True),
    Column("did", String(32), primary_key=True),
    Column("crashed", Integer, nullable=False),
)

# The last applied state of each individual session (init counting, seq, terminal states).
session_states = Table(
    "session_states",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("sid", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("unhealthy", Boolean, nullable=False),
    Column("counted", Boolean, nullable=False),
    Column("release", String(200), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("started", Float, nullable=False),
    Column("did", String(32), nullable=True),
    Column("updated_at", Float, nullable=False),
)

# -- cron monitors ----------------------------------------------------------------------------

monitors = Table(
    "monitors",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("schedule_type", String(16), nullable=True),
    Column("schedule_value", String(200), nullable=True),
    Column("schedule_unit", String(16), nullable=True),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("checkin_margin", Integer, nullable=False),
    Column("max_runtime", Integer, nullable=False),
    Column("failure_issue_threshold", Integer, nullable=True),
    Column("recovery_threshold", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("last_checkin", Float, nullable=True),
    Column("next_checkin", Float, nullable=True),
    # next_checkin + margin: past it the tick is missed (indexed for the scheduler).
    Column("next_checkin_latest", Float, nullable=True, index=True),
    UniqueConstraint("project_id", "slug"),
)

monitor_checkins = Table(
    "monitor_checkins",
    metadata,
    Column("id", Id, primary_key=True),
    Column("monitor_id", ForeignKey("monitors.id"), nullable=False),
    Column("project_id", BigInteger, nullable=False),
    Column("guid", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("date_added", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("duration", Float, nullable=True),  # ms
    Column("expected_time", Float, nullable=True),
    # Set while in progress: when it turns into a timeout (indexed for the scheduler).
    Column("timeout_at", Float, nullable=True, index=True),
    Column("environment", String(64), nullable=True),
    Column("release", String(200), nullable=True),
    Column("trace_id", String(32), nullable=True),
    UniqueConstraint("monitor_id", "guid"),
    Index("ix_monitor_checkins_monitor_date", "monitor_id", "date_added"),
)

# -- users of the web UI ------------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # stored lower-cased
    Column("password_hash", String(200), nullable=False),  # argon2id, PHC string
    # Sees every organisation, like an API token without one (the operator's first admin).
    Column("is_superuser", Boolean, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    Column("last_login", Float, nullable=True),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("organization_id", ForeignKey("organizations.id"), primary_key=True),
    Column("created_at", Float, nullable=False),
    # viewer | member | admin | manager | owner (domain/roles.py)
    Column("role", String(16), nullable=False, server_default="member"),
)

# Server-side sessions: the cookie carries a random id (signed); only its sha256 is stored, so
# a leaked database does not leak live sessions. Logging out deletes the row.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# Failed sign-ins per sha256(email | client IP), for throttling (kept 15 minutes).
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Id, primary_key=True),
    Column("subject", String(64), nullable=False),
    Column("failed_at", Float, nullable=False),
    Index("ix_login_failures_subject_failed_at", "subject", "failed_at"),
)

# Secrets generated on first use and shared by every process (the cookie signing key).
instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

# -- alerts: rules, what fired, and the durable outbox of notifications (docs/alerts.md) --------

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    # new_issue | regression | frequency | users | spike | cron | metric
    Column("trigger", String(16), nullable=False),
    # frequency: events; users: distinct users; spike: factor over the hourly baseline;
    # metric: the critical level.
    Column("threshold", Float, nullable=True),
    Column("warning_threshold", Float, nullable=True),  # metric only
    Column("window_seconds", Integer, nullable=True),
    Column("min_count", Integer, nullable=True),  # spike: events in the last hour at least
    Column("metric", String(16), nullable=True),  # p50 | p95 | p99 | failure_rate | throughput
    Column("transaction", String(200), nullable=True),  # metric: one transaction, or all
    Column("filter_query", Text, nullable=False, server_default=""),
    Column("interval_seconds", Integer, nullable=False),  # at most one firing per issue per this
    Column("digest_seconds", Integer, nullable=False, server_default="0"),  # 0: send at once
    Column("state", String(16), nullable=False, server_default="ok"),  # metric: ok|warning|critical
    Column("last_value", Float, nullable=True),  # metric: as last evaluated
    Column("last_digest_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
)

# Where a rule sends: one row per target ("slack:https://...", "email:ops@example.com").
alert_actions = Table(
    "alert_actions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("rule_id", ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("address", Text, nullable=False),
    Column("secret", String(200), nullable=True),  # webhook: HMAC-SHA256 signing key
)

# Every time a rule fired (for an issue, or a metric state change): the group history, the
# action interval, digests and the hourly cap read it.
alert_firings = Table(
    "alert_firings",
    metadata,
    Column("id", Id, primary_key=True),
    Column("rule_id", ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", BigInteger, nullable=False),
    Column("group_id", BigInteger, nullable=True),
    Column("event_id", String(32), nullable=True),
    Column("fired_at", Float, nullable=False),
    # sent | digest (waits for the rule's digest) | digested | suppressed (hourly cap)
    Column("delivery", String(16), nullable=False),
    Column("message", JSON, nullable=False),
    Index("ix_alert_firings_rule_group_fired", "rule_id", "group_id", "fired_at"),
    Index("ix_alert_firings_project_fired", "project_id", "fired_at"),
    Index("ix_alert_firings_delivery_rule", "delivery", "rule_id"),
)

# Hours of a project whose suppressed firings were summed up in one "N more" message.
alert_suppression_summaries = Table(
    "alert_suppression_summaries",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("hour", BigInteger, primary_key=True),
)

# The outbox: written in the transaction that stored what triggered it, delivered at least
# once by the dispatcher, which leases rows so that several nodes never send one twice.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),  # the stable id receivers see
    Column("project_id", BigInteger, nullable=True),  # None: an account email (invitation...)
    Column("rule_id", BigInteger, nullable=True, index=True),
    Column("action_id", BigInteger, nullable=True),
    Column("group_id", BigInteger, nullable=True),
    Column("kind", String(16), nullable=False),  # channel kind
    Column("address", Text, nullable=False),
    Column("secret", String(200), nullable=True),
    Column("message", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_until", Float, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_notifications_status_next_attempt", "status", "next_attempt_at"),
)

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column(
        "notification_id",
        ForeignKey("notifications.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("attempted_at", Float, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration", Float, nullable=False),
)

# PagerDuty incidents opened for an issue: resolved when the issue is.
alert_open_incidents = Table(
    "alert_open_incidents",
    metadata,
    Column("action_id", BigInteger, primary_key=True),
    Column("group_id", BigInteger, primary_key=True),
    Column("rule_id", BigInteger, nullable=False),
)

# -- privacy (docs/privacy.md) -----------------------------------------------------------------
# Data scrubbing settings in Sentry's API shape (sensitiveFields, safeFields, scrubIPAddresses,
# dataScrubber, dataScrubberDefaults, relayPiiConfig), as the API stored them: an
# organization's, which each of its projects inherits and cannot loosen, and a project's own.
organization_privacy = Table(
    "organization_privacy",
    metadata,
    Column("organization_id", BigInteger, primary_key=True),
    Column("options", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

project_privacy = Table(
    "project_privacy",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("options", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# -- structured logs and user feedback (docs/logs.md) ------------------------------------------
# One row per log record; ``log_id`` is stable across re-deliveries of its envelope. Attributes
# are kept typed as the SDK sent them ({key: {"type": ..., "value": ...}}).
log_records = Table(
    "log_records",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", BigInteger, nullable=False),
    Column("log_id", String(32), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("level", String(8), nullable=False),
    Column("severity_number", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("template", Text, nullable=True),
    Column("parameters", JSON, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("trace_id", String(32), nullable=True),
    Column("span_id", String(16), nullable=True),
    Column("release", String(200), nullable=True),
    Column("environment", String(64), nullable=True),
    Column("sdk", String(100), nullable=True),
    # With the timestamp: on PostgreSQL the table is partitioned by day (migration 0026,
    # storage/partitions.py; primary key (id, timestamp) there) and a unique key must hold it.
    UniqueConstraint("project_id", "log_id", "timestamp"),
    Index("ix_log_records_project_timestamp", "project_id", "timestamp", "id"),
    Index("ix_log_records_project_trace", "project_id", "trace_id"),
    # level:... searches read only their levels' records, newest first (migration 0018)
    Index("ix_log_records_project_level_timestamp", "project_id", "level", "timestamp", "id"),
)

# User feedback from every source (feedback and user_report items, the REST endpoint, the
# error page), linked to the event it is about by ``event_id`` (the event may come later).
user_feedback = Table(
    "user_feedback",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", BigInteger, nullable=False),
    Column("feedback_id", String(32), nullable=False),
    Column("source", String(16), nullable=False),
    Column("event_id", String(32), nullable=True),
    Column("name", String(128), nullable=False),
    Column("email", String(75), nullable=False),
    Column("comments", Text, nullable=False),
    Column("url", Text, nullable=True),
    Column("release", String(200), nullable=True),
    Column("environment", String(64), nullable=True),
    Column("timestamp", Float, nullable=False),
    UniqueConstraint("project_id", "feedback_id"),
    Index("ix_user_feedback_project_timestamp", "project_id", "timestamp"),
    Index("ix_user_feedback_project_event", "project_id", "event_id"),
)

# --- Uptime monitors (docs/uptime.md) -----------------------------------------------------------

# An HTTP(S) check of a project, with the scheduler's and the down / up state machine's state.
uptime_monitors = Table(
    "uptime_monitors",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", ForeignKey("projects.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("method", String(8), nullable=False),
    Column("headers", JSON, nullable=False),  # [[name, value], ...]
    Column("body", Text, nullable=True),
    Column("status_min", Integer, nullable=False),
    Column("status_max", Integer, nullable=False),
    Column("body_contains", Text, nullable=True),
    Column("interval_seconds", Integer, nullable=False),
    Column("timeout_ms", Integer, nullable=False),
    Column("follow_redirects", Boolean, nullable=False),
    Column("environment", String(64), nullable=True),
    Column("failure_threshold", Integer, nullable=False),
    Column("public", Boolean, nullable=False),  # on the organisation's status page
    Column("created_at", Float, nullable=False),
    Column("next_check_at", Float, nullable=False, index=True),
    Column("state", String(8), nullable=False),  # pending | up | down
    Column("consecutive_failures", Integer, nullable=False),
    Column("last_checked_at", Float, nullable=True),
    Column("issue_id", BigInteger, nullable=True),  # the open "is down" issue
    Column("tls_issue_id", BigInteger, nullable=True),  # the open certificate warning
)

# One row per check run; kept as long as spans, the roll-ups below longer.
uptime_checks = Table(
    "uptime_checks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("monitor_id", BigInteger, nullable=False),
    Column("checked_at", Float, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("error_class", String(16), nullable=True),  # dns | connect | tls | timeout | ...
    Column("error", Text, nullable=True),
    Column("certificate_expires_at", Float, nullable=True),
    Index("ix_uptime_checks_monitor_checked", "monitor_id", "checked_at"),
)

# Checks per monitor and hour (period 3600) or day (86400): uptime percentages and bars.
uptime_rollups = Table(
    "uptime_rollups",
    metadata,
    Column("monitor_id", BigInteger, primary_key=True),
    Column("period", Integer, primary_key=True),
    Column("start", BigInteger, primary_key=True),
    Column("checks", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("latency_ms_sum", Float, nullable=False),
)

# An organisation's public status page (opt-in): its public monitors, without login.
status_pages = Table(
    "status_pages",
    metadata,
    Column("organization_id", BigInteger, primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("title", String(200), nullable=False),
)

# --- Releases as sentry-cli manages them (docs/releases.md) -------------------------------------

# A release of an organisation (Sentry's release object); ``releases`` above keeps, per project,
# when its events were first and last seen.
release_meta = Table(
    "release_meta",
    metadata,
    Column("id", Id, primary_key=True),
    Column("organization_id", ForeignKey("organizations.id"), nullable=False),
    Column("version", String(200), nullable=False),
    Column("ref", String(200), nullable=True),
    Column("url", Text, nullable=True),
    Column("date_created", Float, nullable=False),
    Column("date_started", Float, nullable=True),
    Column("date_released", Float, nullable=True),
    UniqueConstraint("organization_id", "version"),
)

release_projects = Table(
    "release_projects",
    metadata,
    Column("release_id", BigInteger, primary_key=True),
    Column("project_id", BigInteger, primary_key=True),
)

# Source repositories of an organisation, named as ``--commit REPO@SHA`` names them.
repositories = Table(
    "repositories",
    metadata,
    Column("id", Id, primary_key=True),
    Column("organization_id", ForeignKey("organizations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("provider", String(64), nullable=True),
    Column("url", Text, nullable=True),
    Column("date_created", Float, nullable=False),
    UniqueConstraint("organization_id", "name"),
)

commit_authors = Table(
    "commit_authors",
    metadata,
    Column("id", Id, primary_key=True),
    Column("organization_id", BigInteger, nullable=False),
    Column("email", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    UniqueConstraint("organization_id", "email"),
)

# The commits of a release, newest first (position 0), as set-commits sent them.
release_commits = Table(
    "release_commits",
    metadata,
    Column("release_id", BigInteger, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("repository_id", BigInteger, nullable=True),
    Column("sha", String(64), nullable=False),
    Column("message", Text, nullable=True),
    Column("author_id", BigInteger, nullable=True),
    Column("date_created", Float, nullable=True),
    # The paths the commit touched, as sentry-cli's patch_set lists them (suspect commits).
    Column("files", JSON, nullable=True),
)

release_deploys = Table(
    "release_deploys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("release_id", BigInteger, nullable=False, index=True),
    Column("environment", String(64), nullable=False),
    Column("name", String(200), nullable=True),
    Column("url", Text, nullable=True),
    Column("date_started", Float, nullable=True),
    Column("date_finished", Float, nullable=False),
)

# Uploads through sentry-cli's chunk protocol: chunks stored once by SHA-1, files (artifact
# bundles, release files, debug files) as ordered lists of chunks.
upload_chunks = Table(
    "upload_chunks",
    metadata,
    Column("checksum", String(40), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("uploaded_at", Float, nullable=False),
)

# Which organisation uploaded which chunk: chunks are stored once by SHA-1, but a checksum an
# organisation did not upload is missing to it (else it could assemble, and read, another
# organisation's files by their checksums).
upload_chunk_owners = Table(
    "upload_chunk_owners",
    metadata,
    Column("organization_id", BigInteger, primary_key=True),
    Column("checksum", String(40), primary_key=True),
    Column("uploaded_at", Float, nullable=False, index=True),
)

upload_files = Table(
    "upload_files",
    metadata,
    Column("id", Id, primary_key=True),
    Column("organization_id", BigInteger, nullable=False),
    Column("project_id", BigInteger, nullable=True),
    Column("kind", String(16), nullable=False),  # artifact_bundle | release_file | debug_file
    Column("checksum", String(40), nullable=False),
    Column("name", Text, nullable=False),
    Column("release", String(200), nullable=True),
    Column("dist", String(64), nullable=True),
    Column("debug_id", String(64), nullable=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_upload_files_org_kind_checksum", "organization_id", "kind", "checksum"),
)

upload_file_chunks = Table(
    "upload_file_chunks",
    metadata,
    Column("file_id", BigInteger, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("checksum", String(40), nullable=False, index=True),
)

# --- Team workflow: teams, assignment, comments and activity (docs/workflow.md) ----------------

# A team of an organisation's users, to assign issues to (Sentry's team, without roles).
teams = Table(
    "teams",
    metadata,
    Column("id", Id, primary_key=True),
    Column("organization_id", ForeignKey("organizations.id"), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("organization_id", "slug"),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", ForeignKey("teams.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)

# Who owns an issue: one user or one team (no row: unassigned).
group_assignees = Table(
    "group_assignees",
    metadata,
    Column("group_id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, nullable=True, index=True),
    Column("team_id", BigInteger, nullable=True, index=True),
    Column("assigned_at", Float, nullable=False),
)

# What happened to an issue and who did it (Sentry's activity); comments are ``note`` rows.
# ``user_id`` NULL: an API token or Vedette itself (first seen, regression).
group_activity = Table(
    "group_activity",
    metadata,
    Column("id", Id, primary_key=True),
    Column("group_id", BigInteger, nullable=False),
    Column("project_id", BigInteger, nullable=False),
    Column("type", String(32), nullable=False),
    Column("user_id", BigInteger, nullable=True),
    Column("data", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_group_activity_group_created", "group_id", "created_at"),
)

# Sampled profiles (docs/profiles.md): one row per transaction profile (kind "transaction",
# profile_id = the profile's event id) or continuous profile chunk (kind "chunk", profile_id =
# the chunk id, profiler_id = its profiler session); ``payload`` is the normalised profile,
# packed by storage.codec.
profiles = Table(
    "profiles",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("profile_id", String(32), nullable=False),
    Column("profiler_id", String(32), nullable=True),
    Column("transaction_id", String(32), nullable=True),
    Column("transaction_name", String(200), nullable=True),
    Column("trace_id", String(32), nullable=True),
    Column("release", String(200), nullable=True),
    Column("environment", String(64), nullable=True),
    Column("platform", String(32), nullable=False),
    Column("start_timestamp", Float, nullable=False),
    Column("end_timestamp", Float, nullable=False),
    Column("duration", Float, nullable=False),
    Column("sample_count", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    UniqueConstraint("project_id", "profile_id"),
    Index("ix_profiles_project_transaction", "project_id", "transaction_name", "start_timestamp"),
    Index("ix_profiles_project_profiler", "project_id", "profiler_id", "start_timestamp"),
    Index("ix_profiles_project_start", "project_id", "start_timestamp"),
)

# -- single sign-on with OpenID Connect (docs/sso.md) ------------------------------------------

# Who a provider's account is here: (issuer, subject) names a person for good, so a changed
# email at the provider signs in to the same user.
oidc_identities = Table(
    "oidc_identities",
    metadata,
    Column("id", Id, primary_key=True),
    Column("issuer", String(255), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False),  # as the provider last claimed it
    Column("created_at", Float, nullable=False),
    Column("last_login", Float, nullable=False),
    UniqueConstraint("issuer", "subject", name="uq_oidc_identities_issuer_subject"),
)

# Sign-ins under way: the browser holds the state (in a signed cookie), the server the rest;
# the callback deletes the row, so a state is good once and for a few minutes only.
oidc_login_attempts = Table(
    "oidc_login_attempts",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("nonce", String(64), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("next_path", Text, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# Issue trackers (docs/workflow.md, "Issue trackers"): where a project's "Create ... issue"
# buttons lead, and the tracker URLs users linked to an issue.
project_trackers = Table(
    "project_trackers",
    metadata,
    Column("project_id", BigInteger, primary_key=True),
    Column("github_repo", String(500), nullable=True),
    Column("gitlab_project", String(500), nullable=True),
    Column("jira_base", String(500), nullable=True),
    Column("jira_project_id", String(20), nullable=True),
    Column("jira_issue_type", String(20), nullable=True),
)

group_links = Table(
    "group_links",
    metadata,
    Column("id", Id, primary_key=True),
    Column("group_id", BigInteger, nullable=False),
    Column("project_id", BigInteger, nullable=False),
    Column("url", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # github | gitlab | jira | link
    Column("user_id", BigInteger, nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ix_group_links_group", "group_id"),
)

# One-time links sent by email (docs/workflow.md, "Members"): invitations to an organisation
# and password resets. Only the token's sha256 is kept; ``used_at`` makes a link work once.
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(16), nullable=False),  # invite | reset
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("email", String(254), nullable=False),
    Column("organization_id", BigInteger, nullable=True),  # invite: the organisation
    Column("created_by", BigInteger, nullable=True),  # invite: who invited
    Column("role", String(16), nullable=True),  # invite: the role it gives
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float, nullable=True),
    Index("ix_account_tokens_org_kind", "organization_id", "kind"),
)

# The optional second factor of password sign-ins (docs/workflow.md, "Two-factor sign-in"): a
# TOTP secret (``confirmed_at`` NULL while being set up; ``last_step``: the newest time step
# used, so a code works once) and single-use recovery codes, stored as sha256.
user_totp = Table(
    "user_totp",
    metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("secret", String(64), nullable=False),
    Column("confirmed_at", Float, nullable=True),
    Column("last_step", BigInteger, nullable=True),
    Column("created_at", Float, nullable=False),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", BigInteger, nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("used_at", Float, nullable=True),
)

# Who changed what of an organisation (docs/workflow.md, "Audit log"): members and
# invitations, client keys, API tokens, alert rules, project settings. ``actor`` is the user's
# email or "API token"; ``event`` Sentry's names where it has them (member.invite, ...).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("organization_id", BigInteger, nullable=False),
    Column("actor_user_id", BigInteger, nullable=True),
    Column("actor", String(254), nullable=False),
    Column("event", String(48), nullable=False),
    Column("target", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_audit_log_org_created", "organization_id", "created_at"),
)

# The projects a team owns (docs/workflow.md, "Roles": what members see without open membership).
team_projects = Table(
    "team_projects",
    metadata,
    Column("team_id", BigInteger, primary_key=True),
    Column("project_id", BigInteger, primary_key=True),
    Index("ix_team_projects_project", "project_id"),
)

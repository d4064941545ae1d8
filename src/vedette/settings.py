"""The one settings class. Every field is documented in docs/configuration.md (a test checks)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from vedette.domain.retention import RetentionPolicy


def default_data_dir() -> Path:
    return Path.cwd() / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VEDETTE_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store. Unset: SQLite (WAL) at"
        " `<data_dir>/vedette.sqlite3`. PostgreSQL: `postgresql+psycopg://user@host/db`.",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Directory for the embedded SQLite database.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of this server, used to build the DSNs shown to users.",
    )
    max_body_bytes: int = Field(
        default=20 * 1024 * 1024,
        description="Cap on the request body as sent (compressed) bytes; larger bodies get 413.",
    )
    max_envelope_bytes: int = Field(
        default=100 * 1024 * 1024,
        description="Cap on a decompressed envelope; decompression stops and answers 413 past it.",
    )
    max_event_bytes: int = Field(
        default=1024 * 1024,
        description="Cap on one event, transaction or feedback item (Relay's max_event_size).",
    )
    max_attachment_bytes: int = Field(
        default=20 * 1024 * 1024,
        description="Cap on one attachment item.",
    )
    worker_batch_size: int = Field(
        default=200, description="Spool entries the worker processes in one transaction."
    )
    worker_processes: int = Field(
        default=0,
        ge=0,
        description="Helper processes that share the processing of the worker's large batches"
        " (a backlog) and stop when idle; 0: the worker processes alone. Off by default: on"
        " busy cores they slowed the digest down (docs/benchmarks.md).",
    )
    worker_enabled: bool = Field(
        default=True,
        description="Run the spool worker in this process. Turn off for ingest-only processes.",
    )
    spool_lease_seconds: float = Field(
        default=60.0,
        description="How long a worker owns claimed spool entries before another may retry them.",
    )
    spool_files: int = Field(
        default=1,
        ge=1,
        description="SQLite only: how many spool files ingest spreads its commits over, each"
        " committed by its own thread, so that one file's fsyncs do not queue every request."
        " More than 1 helps only where fsync is slow (docs/benchmarks.md).",
    )
    spool_max_attempts: int = Field(
        default=3,
        description="Storage attempts after which a spool entry moves to the dead-letter table.",
    )
    test_clock_file: Path | None = Field(
        default=None,
        description="Tests only: a file holding seconds added to the time that rate-limit"
        " windows and spool leases read, so tests move time instead of waiting"
        " (docs/testing.md). Unset: the system clock.",
    )
    rate_limit_per_minute: int = Field(
        default=0,
        description="Events (errors, messages, transactions) a project may send per minute and"
        " ingest process; past it, 429 with Retry-After and X-Sentry-Rate-Limits. 0: no limit.",
    )
    max_spool_entries: int = Field(
        default=1_000_000,
        description="Unprocessed envelopes past which ingest answers 429 for everything"
        " (measured once a second, 10 times a second while full, plus what this server spooled"
        " since). 0: no limit.",
    )
    health_max_spool_age_seconds: float = Field(
        default=300.0,
        description="`/_health/` fails (503) when the oldest unprocessed envelope is older.",
    )
    body_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A request body must arrive within this time, or the answer is 408"
        " (slow-trickling clients cannot hold connections open for ever).",
    )
    trust_forwarded_for: bool = Field(
        default=False,
        description="Take the client IP from X-Forwarded-For (only behind a trusted proxy): an"
        " event's the first entry, sign-in throttling's the last (the one the proxy added).",
    )
    retention_days: float = Field(
        default=90.0,
        gt=0,
        description="Events older than this are deleted, and issues not seen since with them.",
    )
    span_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="Span detail (waterfalls, slow-query examples) is kept this long; the"
        " per-minute, hour and day aggregates behind the performance tables stay.",
    )
    log_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="Structured logs older than this are deleted hourly (SQLite: bounded"
        " batches; PostgreSQL: whole expired days, so up to a day later).",
    )
    profile_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="Profiles (transaction profiles and continuous profile chunks) older than"
        " this are deleted (bounded batches, hourly).",
    )
    max_events_per_issue: int = Field(
        default=10_000,
        ge=3,
        description="Stored events per issue; past it, cleanup keeps the first, the latest half"
        " and an even sample in between (counters and tag tallies keep every event).",
    )
    cleanup_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How often the worker applies retention (`vedette cleanup` does it now).",
    )
    smtp_url: str | None = Field(
        default=None,
        description="SMTP server for email notifications: `smtp://[user:pass@]host:port` (STARTTLS "
        "when the server offers it) or `smtps://...` (implicit TLS). Unset: email "
        "notifications fail visibly in the delivery history.",
    )
    email_from: str = Field(
        default="vedette@localhost",
        description="Sender address of email notifications.",
    )
    alerts_allow_private_targets: bool = Field(
        default=False,
        description="Let notifications go to loopback, private and link-local addresses"
        " (webhooks on the same network). Off: such targets are refused, so alert rules"
        " cannot probe internal services.",
    )
    uptime_allow_private_targets: bool = Field(
        default=False,
        description="Let uptime monitors check loopback, private and link-local addresses"
        " (services on the same network). Off: such URLs fail as refused, so monitors cannot"
        " probe internal services.",
    )
    alert_hourly_cap: int = Field(
        default=100,
        description="Alerts a project may send per hour; past it, alerts are counted and one"
        ' "N more alerts suppressed" message follows the hour.',
    )
    notification_timeout_seconds: float = Field(
        default=10.0,
        description="How long one delivery attempt (HTTP request or SMTP session) may take.",
    )
    notification_retry_seconds: float = Field(
        default=10.0,
        description="Delay before the first retry of a failed delivery (timeouts, connection"
        " errors, 5xx, 429); it doubles with each attempt, up to an hour, or follows Retry-After.",
    )
    notification_give_up_seconds: float = Field(
        default=86400.0,
        description="A notification not delivered within this time of being queued is marked"
        " failed.",
    )
    notification_lease_seconds: float = Field(
        default=120.0,
        description="How long a node owns a notification it is sending before another may retry it "
        "(PostgreSQL; on SQLite a restarted worker retries at once).",
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org",
        description="Telegram Bot API base URL (a proxy, or a test double).",
    )
    pagerduty_events_url: str = Field(
        default="https://events.pagerduty.com/v2/enqueue",
        description="PagerDuty Events API v2 endpoint (EU accounts: "
        "`https://events.eu.pagerduty.com/v2/enqueue`).",
    )

    password_hash_memory_kib: int = Field(
        default=65536,
        ge=1024,
        description="Memory one argon2id password hash uses, in KiB. The default (64 MiB with 3"
        " iterations) is one of RFC 9106's recommended settings; OWASP's smallest is 19,456 KiB"
        " with 2 iterations. Less makes each sign-in cheaper and stolen hashes easier to guess;"
        " a password hashed with other values is hashed again at its next sign-in.",
    )
    password_hash_iterations: int = Field(
        default=3,
        ge=1,
        description="Passes over that memory per argon2id password hash.",
    )

    oidc_issuer: str | None = Field(
        default=None,
        description="Issuer URL of the OpenID Connect provider for single sign-on, exactly as its"
        " discovery document names it (docs/sso.md). Unset: no single sign-on.",
    )
    oidc_client_id: str | None = Field(
        default=None, description="Client id of Vedette at the OpenID provider."
    )
    oidc_client_secret: str | None = Field(
        default=None, description="Client secret of Vedette at the OpenID provider."
    )
    oidc_organization: str | None = Field(
        default=None,
        description="Organisation (slug) that users signing in for the first time join"
        " (created if new). Required with `VEDETTE_OIDC_ISSUER`.",
    )
    oidc_role: Literal["viewer", "member", "admin", "manager", "owner", "superuser"] = Field(
        default="member",
        description="Role in `VEDETTE_OIDC_ORGANIZATION` of users who join by signing in:"
        ' `viewer`, `member`, `admin`, `manager` or `owner` (docs/workflow.md, "Roles"),'
        " or `superuser` (an owner of every organisation).",
    )
    oidc_sso_only: bool = Field(
        default=False,
        description="Refuse password sign-in to members of `VEDETTE_OIDC_ORGANIZATION`"
        " (superusers excepted).",
    )
    oidc_button_label: str = Field(
        default="single sign-on",
        description='Provider name on the sign-in page\'s button ("Sign in with ...").',
    )
    oidc_scopes: str = Field(
        default="openid email profile",
        description="Scopes asked of the provider; they must give Vedette the `email` claim.",
    )
    oidc_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long one request to the OpenID provider (discovery, keys, token)"
        " may take.",
    )

    def retention_policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            max_age_seconds=self.retention_days * 86400,
            max_events_per_issue=self.max_events_per_issue,
            span_max_age_seconds=self.span_retention_days * 86400,
            log_max_age_seconds=self.log_retention_days * 86400,
            profile_max_age_seconds=self.profile_retention_days * 86400,
        )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'vedette.sqlite3'}"

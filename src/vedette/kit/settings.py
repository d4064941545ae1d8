"""`MonitoringSettings`: the monitoring settings of an app, validated, from its environment.

The fields have no prefix (``sentry_dsn``, ``environment``, ``app_version``,
``sentry_traces_sample_rate``, ``sentry_profiles_sample_rate``), so the environment variables a
Sentry-instrumented app usually sets (``SENTRY_DSN``, ``ENVIRONMENT``, ``APP_VERSION``, ...)
keep working. The rates are checked: the SDK accepts ``SENTRY_TRACES_SAMPLE_RATE=1.5`` and then
sends no transaction at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sentry_sdk.utils import BadDsn, Dsn

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
BodySize = Literal["never", "small", "medium", "always"]

# Health and readiness probes run every few seconds on every replica; tracing them costs CPU and
# quota and shows nothing.
DEFAULT_UNTRACED_PATHS = ["/health", "/healthz", "/ready", "/readyz", "/livez", "/ping"]
DEFAULT_FAILED_STATUS_CODES = frozenset(range(500, 600))

_RANGE = re.compile(r"^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$")


def parse_status_codes(raw: object) -> frozenset[int]:
    """``"403, 429, 500-599"`` or an iterable of ints -> the set of codes."""
    if isinstance(raw, str):
        codes: set[int] = set()
        for part in raw.split(","):
            if not part.strip():
                continue
            found = _RANGE.match(part)
            if found is None:
                raise ValueError(f"not a status code or range: {part.strip()!r}")
            low = int(found.group(1))
            high = int(found.group(2) or low)
            if high < low:
                raise ValueError(f"empty range: {part.strip()!r}")
            codes.update(range(low, high + 1))
        return frozenset(codes)
    if isinstance(raw, (set, frozenset, list, tuple)):
        return frozenset(int(c) for c in raw)
    raise ValueError("expected codes like '403,500-599'")


def _split_words(raw: object) -> object:
    if isinstance(raw, str):
        return [w.strip() for w in raw.split(",") if w.strip()]
    return raw


class MonitoringSettings(BaseSettings):
    """Everything `init_monitoring` needs; each field is an environment variable of its name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    sentry_dsn: str | None = Field(
        default=None,
        description="DSN of the project (Vedette's or sentry.io's). Unset or empty: monitoring"
        " is off and every kit helper is a no-op.",
    )
    environment: str = Field(default="development", description="Sent as the environment.")
    app_version: str | None = Field(
        default=None,
        description="The release, e.g. the git SHA from CI (`APP_VERSION=$GIT_SHA`). Unset: the"
        " SDK's own guess (SENTRY_RELEASE, then the git checkout).",
    )
    sentry_traces_sample_rate: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Share of requests traced when no rule and no upstream decision applies.",
    )
    sentry_profiles_sample_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Share of processes that profile their traced requests (continuous profiling,"
        " `profile_lifecycle=trace`; transaction profiling is deprecated in sentry-sdk 2.x).",
    )
    sentry_traces_sample_rules: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict,
        description='Path prefix -> rate, as JSON: `{"/api/v1/search": 0.01}`. The longest'
        " matching prefix wins.",
    )
    sentry_untraced_paths: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_UNTRACED_PATHS),
        description="Paths never traced (the path itself and everything below it), comma"
        " separated. Errors on them are still reported.",
    )
    sentry_sensitive_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra key fragments to scrub (comma separated, case-insensitive substring"
        " match), added to the built-in list (password, token, secret, auth, cookie, card, ...).",
    )
    sentry_send_user_pii: bool = Field(
        default=False,
        description="Send the user's email and username with events. Off: the user id only.",
    )
    sentry_breadcrumb_level: LogLevel = Field(
        default="INFO", description="Log records at this level or above become breadcrumbs."
    )
    sentry_event_level: LogLevel = Field(
        default="ERROR", description="Log records at this level or above become events."
    )
    sentry_enable_logs: bool = Field(
        default=False,
        description="Send structured logs: `sentry_sdk.logger.*` calls and Python logging"
        " records at SENTRY_LOGS_LEVEL or above, scrubbed like events.",
    )
    sentry_logs_level: LogLevel = Field(
        default="INFO",
        description="Python logging records at this level or above become Sentry logs (with"
        " SENTRY_ENABLE_LOGS).",
    )
    log_level: LogLevel | None = Field(
        default=None,
        description="If set, the root logger's level. Python's default (WARNING) drops INFO"
        " records before the breadcrumb handler sees them.",
    )
    sentry_failed_status_codes: Annotated[frozenset[int], NoDecode] = Field(
        default=DEFAULT_FAILED_STATUS_CODES,
        description='Raised `HTTPException` statuses reported as errors, e.g. "403,500-599".',
    )
    sentry_max_request_body_size: BodySize = Field(
        default="small",
        description="Request bodies attached to error events (`small`: up to 1 KB), scrubbed.",
    )
    sentry_include_local_variables: bool = Field(
        default=False,
        description="Attach local variables to stack frames (scrubbed by key when on). Off by"
        " default: frame locals often hold `Authorization` values and request bodies.",
    )
    sentry_shutdown_timeout: float = Field(
        default=2.0, ge=0.0, description="Seconds the shutdown flush may take."
    )
    sentry_tags: dict[str, str] = Field(
        default_factory=dict,
        description='Tags on every event of the process, as JSON: `{"service": "shop"}`.',
    )

    @field_validator("sentry_dsn", "app_version", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("sentry_dsn")
    @classmethod
    def _dsn_parses(cls, value: str | None) -> str | None:
        # A typo is a configuration error at startup, not an exception from the SDK later.
        if value is not None:
            try:
                Dsn(value)
            except BadDsn as error:
                raise ValueError(f"not a DSN: {error}") from None
        return value

    @field_validator("sentry_untraced_paths", "sentry_sensitive_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_words(value)

    @field_validator("sentry_failed_status_codes", mode="before")
    @classmethod
    def _status_codes(cls, value: object) -> frozenset[int]:
        codes = parse_status_codes(value)
        if any(not 100 <= c <= 599 for c in codes):
            raise ValueError("status codes lie between 100 and 599")
        return codes

    @field_validator("sentry_traces_sample_rules")
    @classmethod
    def _rules_are_paths(cls, value: Mapping[str, float]) -> dict[str, float]:
        for prefix in value:
            if not prefix.startswith("/"):
                raise ValueError(f"sampling rule {prefix!r} must be a path starting with '/'")
        return dict(value)

    @field_validator("sentry_untraced_paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        for path in value:
            if not path.startswith("/"):
                raise ValueError(f"untraced path {path!r} must start with '/'")
        return value

    @property
    def enabled(self) -> bool:
        return self.sentry_dsn is not None

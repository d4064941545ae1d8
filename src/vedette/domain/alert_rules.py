"""Alert rules: what fires, on what, and how often (pure: validated here, stored and evaluated
elsewhere). See docs/alerts.md for the user's view."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Trigger(StrEnum):
    NEW_ISSUE = "new_issue"  # an issue is seen for the first time
    REGRESSION = "regression"  # a resolved issue comes back (or an ignored one escalates)
    FREQUENCY = "frequency"  # an issue reaches `threshold` events within `window`
    USERS = "users"  # an issue reaches `threshold` distinct users within `window`
    SPIKE = "spike"  # the last hour's events exceed `threshold` x the issue's hourly baseline
    CRON = "cron"  # a cron monitor failed, missed a check-in or timed out
    METRIC = "metric"  # a transaction metric crosses `warning_threshold` / `threshold`
    UPTIME = "uptime"  # an uptime monitor goes down (resolve message when it recovers)
    FEEDBACK = "feedback"  # a user sends feedback (from any source), once per report


class Metric(StrEnum):
    P50 = "p50"
    P95 = "p95"
    P99 = "p99"
    FAILURE_RATE = "failure_rate"  # share of transactions whose status is not ok, 0..1
    THROUGHPUT = "throughput"  # transactions per minute


class MetricState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


ISSUE_TRIGGERS = frozenset(Trigger) - {Trigger.METRIC, Trigger.FEEDBACK}
DEFAULT_INTERVAL_SECONDS = 1800  # Sentry's default action interval: 30 minutes
DEFAULT_WINDOW_SECONDS = 3600
DEFAULT_SPIKE_FACTOR = 10.0
DEFAULT_SPIKE_MIN_COUNT = 10
BASELINE_SECONDS = 7 * 86400


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """Where to send: a target spec (``slack:https://...``) and, for webhooks, a signing key."""

    target: str
    secret: str | None = None


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as a user writes it (API, CLI, UI form), before it has an id."""

    name: str
    trigger: Trigger
    actions: tuple[ActionSpec, ...]
    threshold: float | None = None
    warning_threshold: float | None = None
    window_seconds: int | None = None
    min_count: int | None = None
    metric: Metric | None = None
    transaction: str | None = None
    filter_query: str = ""
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS
    digest_seconds: int = 0


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    project_id: int
    spec: RuleSpec
    created_at: float
    state: MetricState = MetricState.OK
    last_value: float | None = None
    last_digest_at: float | None = None
    action_ids: tuple[int, ...] = field(default=())


class RuleError(ValueError):
    """A rule that cannot work as written; the message says why, for a 400 or a CLI error."""


def validated(spec: RuleSpec) -> RuleSpec:
    """The spec with its trigger's defaults filled in, or RuleError."""
    if not spec.name.strip() or len(spec.name) > 200:
        raise RuleError("name must be 1 to 200 characters")
    if not spec.actions:
        raise RuleError("a rule needs at least one target to notify")
    if spec.interval_seconds < 60 or spec.interval_seconds > 30 * 86400:
        raise RuleError("interval must be between 60 seconds and 30 days")
    if spec.digest_seconds < 0 or spec.digest_seconds > 86400:
        raise RuleError("digest must be between 0 (off) and 86400 seconds")
    return _DEFAULTS[spec.trigger](spec)


def _plain(spec: RuleSpec) -> RuleSpec:
    return spec


def _counting(spec: RuleSpec) -> RuleSpec:
    if spec.threshold is None or spec.threshold < 1:
        raise RuleError(f"{spec.trigger} needs a threshold of at least 1")
    window = spec.window_seconds or DEFAULT_WINDOW_SECONDS
    if window < 60 or window > 30 * 86400:
        raise RuleError("window must be between 60 seconds and 30 days")
    return replace(spec, window_seconds=window)


def _spike(spec: RuleSpec) -> RuleSpec:
    factor = DEFAULT_SPIKE_FACTOR if spec.threshold is None else spec.threshold
    if factor <= 1:
        raise RuleError("a spike factor must be above 1")
    min_count = DEFAULT_SPIKE_MIN_COUNT if spec.min_count is None else spec.min_count
    if min_count < 1:
        raise RuleError("a spike needs a minimum count of at least 1")
    return replace(spec, threshold=factor, min_count=min_count, window_seconds=3600)


def _feedback(spec: RuleSpec) -> RuleSpec:
    # Every report is news: no counting, and no issue search to filter on.
    if spec.filter_query.strip():
        raise RuleError("a feedback rule takes no filter")
    return spec


def _metric(spec: RuleSpec) -> RuleSpec:
    if spec.metric is None:
        raise RuleError("a metric rule needs a metric: " + ", ".join(Metric))
    if spec.threshold is None:
        raise RuleError("a metric rule needs a critical threshold")
    if spec.warning_threshold is not None and spec.warning_threshold > spec.threshold:
        raise RuleError("the warning threshold must not be above the critical one")
    window = spec.window_seconds or 600
    if window < 60 or window > 86400:
        raise RuleError("window must be between 60 seconds and 1 day")
    return replace(spec, window_seconds=window)


_DEFAULTS = {
    Trigger.NEW_ISSUE: _plain,
    Trigger.REGRESSION: _plain,
    Trigger.CRON: _plain,
    Trigger.FREQUENCY: _counting,
    Trigger.USERS: _counting,
    Trigger.SPIKE: _spike,
    Trigger.METRIC: _metric,
    Trigger.UPTIME: _plain,
    Trigger.FEEDBACK: _feedback,
}


def metric_state(value: float | None, spec: RuleSpec) -> MetricState:
    """Where a metric value stands against the rule's levels (no data is ok)."""
    if value is None or spec.threshold is None:
        return MetricState.OK
    if value >= spec.threshold:
        return MetricState.CRITICAL
    if spec.warning_threshold is not None and value >= spec.warning_threshold:
        return MetricState.WARNING
    return MetricState.OK


def spike(recent: int, baseline_events: int, baseline_hours: float, spec: RuleSpec) -> bool:
    """Whether the last hour's ``recent`` events are a spike against the hourly average of
    ``baseline_events`` over ``baseline_hours`` (the issue's life before this hour, at most a
    week). A quiet issue's second event is no spike: ``min_count`` must be reached too."""
    if recent < (spec.min_count or DEFAULT_SPIKE_MIN_COUNT):
        return False
    hourly = baseline_events / max(1.0, baseline_hours)
    return recent >= (spec.threshold or DEFAULT_SPIKE_FACTOR) * hourly

"""Building messages from stored facts (pure: no database, no I/O)."""

from __future__ import annotations

import uuid
from typing import Any

from vedette.alerts.message import Action, EventSummary, Message, MessageKind
from vedette.domain.alert_rules import MetricState, Rule
from vedette.domain.processed import UserFeedback
from vedette.domain.short_ids import short_id
from vedette.storage.alert_facts import IssueFacts, ProjectLabel

_METRIC_LEVEL = {MetricState.CRITICAL: "fatal", MetricState.WARNING: "warning"}
_EVENT_TEXT_CAP = 1000  # per field of the event summary; renderers bound further for their format


def new_id() -> str:
    return uuid.uuid4().hex


def about(label: ProjectLabel, rule_name: str, rule_id: int | None) -> dict[str, Any]:
    """What every message says of its project and rule, with a fresh id."""
    return {
        "id": new_id(),
        "organization": label.organization,
        "project": label.slug,
        "project_id": label.id,
        "project_name": label.name,
        "rule_name": rule_name,
        "rule_id": rule_id,
    }


def issue_url(base_url: str, label: ProjectLabel, issue_id: int) -> str:
    return f"{base_url.rstrip('/')}/p/{label.organization}/{label.slug}/issues/{issue_id}/"


def issue_message(
    rule: Rule,
    label: ProjectLabel,
    issue: IssueFacts,
    event: dict[str, Any] | None,
    reason: str,
    base_url: str,
    action: Action = Action.TRIGGER,
) -> Message:
    summary = None if event is None else _event_summary(event, issue.title)
    return Message(
        **about(label, rule.spec.name, rule.id),
        **issue_fields(label, issue, base_url),
        action=action,
        reason=reason,
        environment=None if summary is None else summary.environment,
        release=None if summary is None else summary.release,
        event=summary,
    )


def issue_fields(label: ProjectLabel, issue: IssueFacts, base_url: str) -> dict[str, Any]:
    """What a message about one issue says of it (kind, title, link, level and counters)."""
    return {
        "kind": MessageKind.ISSUE,
        "title": issue.title,
        "url": issue_url(base_url, label, issue.id),
        "level": issue.level,
        "culprit": issue.culprit,
        "issue_id": issue.id,
        "short_id": short_id(label.slug, issue.short_id),
        "event_count": issue.times_seen,
        "user_count": issue.user_count,
        "first_seen": issue.first_seen,
        "last_seen": issue.last_seen,
    }


def _event_summary(event: dict[str, Any], title: str) -> EventSummary:
    tags = [(_cap(k), _cap(v)) for k, v in (event.get("tags") or [])][:50]
    user = next((v for k, v in tags if k == "user"), None)
    return EventSummary(
        event_id=str(event.get("event_id") or ""),
        title=_cap(title),
        environment=_optional(event.get("environment")),
        release=_optional(event.get("release")),
        tags=tags,
        user=user,
    )


def _cap(value: object) -> str:
    return str(value)[:_EVENT_TEXT_CAP]


def _optional(value: object) -> str | None:
    return None if value in (None, "") else _cap(value)


def metric_message(
    rule: Rule, label: ProjectLabel, state: MetricState, value: float | None, base_url: str
) -> Message:
    spec = rule.spec
    subject = spec.transaction or "all transactions"
    measured = "no data" if value is None else f"{value:.4g}"
    if state == MetricState.OK:
        reason = f"Resolved: {spec.metric} of {subject} is back to {measured}"
    else:
        limit = spec.threshold if state == MetricState.CRITICAL else spec.warning_threshold
        reason = f"{state.value.title()}: {spec.metric} of {subject} is {measured} (>= {limit:g})"
    return Message(
        **about(label, spec.name, rule.id),
        kind=MessageKind.METRIC,
        action=Action.RESOLVE if state == MetricState.OK else Action.TRIGGER,
        title=f"{spec.metric} of {subject}",
        reason=reason,
        url=f"{base_url.rstrip('/')}/p/{label.organization}/{label.slug}/performance/",
        level=_METRIC_LEVEL.get(state, "info"),
    )


def digest_message(rule: Rule, label: ProjectLabel, items: list[Message], base_url: str) -> Message:
    return Message(
        **about(label, rule.spec.name, rule.id),
        kind=MessageKind.DIGEST,
        action=Action.TRIGGER,
        title=f"{len(items)} alerts of {rule.spec.name}",
        reason=f"Digest of {len(items)} alerts",
        url=f"{base_url.rstrip('/')}/p/{label.organization}/{label.slug}/issues/",
        level=max((i.level for i in items), key=_severity, default="error"),
        items=items,
    )


def suppressed_message(label: ProjectLabel, count: int, cap: int, base_url: str) -> Message:
    return Message(
        **about(label, "hourly cap", None),
        kind=MessageKind.SUPPRESSED,
        action=Action.TRIGGER,
        title=f"{count} more alerts suppressed",
        reason=f"More than {cap} alerts in one hour; {count} more were not sent",
        url=f"{base_url.rstrip('/')}/p/{label.organization}/{label.slug}/issues/",
        level="warning",
        suppressed=count,
    )


def test_message(rule: Rule, label: ProjectLabel, base_url: str) -> Message:
    return Message(
        **about(label, rule.spec.name, rule.id),
        kind=MessageKind.TEST,
        action=Action.TRIGGER,
        title=f"Test notification from {rule.spec.name}",
        reason="Sent from Vedette to check this channel",
        url=f"{base_url.rstrip('/')}/p/{label.organization}/{label.slug}/alerts/{rule.id}/",
        level="info",
    )


_LEVELS = ("debug", "info", "warning", "error", "fatal")


def _severity(level: str) -> int:
    return _LEVELS.index(level) if level in _LEVELS else 3


def feedback_message(
    rule: Rule,
    label: ProjectLabel,
    feedback: UserFeedback,
    issue: IssueFacts | None,
    base_url: str,
) -> Message:
    """A user's report: their words as the title, linked to the issue of the event it is about
    when that is stored, else to the project's feedback page."""
    who = feedback.name or feedback.email or "a user"
    url = (
        issue_url(base_url, label, issue.id)
        if issue is not None
        else f"{base_url.rstrip('/')}/p/{label.organization}/{label.slug}/feedback/"
    )
    return Message(
        **about(label, rule.spec.name, rule.id),
        kind=MessageKind.FEEDBACK,
        action=Action.TRIGGER,
        title=feedback.comments[:_EVENT_TEXT_CAP],
        reason=f"New feedback from {who[:200]}",
        url=url,
        level="info",
        culprit="" if issue is None else issue.title[:_EVENT_TEXT_CAP],
        issue_id=None if issue is None else issue.id,
        short_id=None if issue is None else short_id(label.slug, issue.short_id),
        environment=feedback.environment,
        release=feedback.release,
    )

"""PagerDuty Events API v2 (``/v2/enqueue``).

One PagerDuty alert per Vedette issue (``vedette-issue-<id>``) or metric rule
(``vedette-metric-<rule id>``), so a later resolve closes what the trigger opened. Other kinds
have nothing to resolve and use the notification's own id. A resolve carries only routing key,
action and dedup key, as the API asks.
"""

from __future__ import annotations

from typing import Any

from vedette.alerts.channels.base import Endpoints, HttpRequest, Target, json_request
from vedette.alerts.channels.content import describe, fit, iso_time
from vedette.alerts.message import Action, Message, MessageKind

SUMMARY_LIMIT = 1024
DEDUP_KEY_LIMIT = 255
DETAIL_LIMIT = 1024
SEVERITIES = {"fatal": "critical", "error": "error", "warning": "warning"}


def render(target: Target, message: Message, endpoints: Endpoints) -> HttpRequest:
    return json_request(endpoints.pagerduty_events_url, payload(target, message), message)


def dedup_key(message: Message) -> str:
    if message.kind is MessageKind.ISSUE and message.issue_id is not None:
        return f"vedette-issue-{message.issue_id}"
    if message.kind is MessageKind.METRIC and message.rule_id is not None:
        return f"vedette-metric-{message.rule_id}"
    return fit(f"vedette-{message.kind}-{message.id}", DEDUP_KEY_LIMIT)


def payload(target: Target, message: Message) -> dict[str, Any]:
    result: dict[str, Any] = {
        "routing_key": target.address,
        "event_action": "resolve" if message.action is Action.RESOLVE else "trigger",
        "dedup_key": dedup_key(message),
    }
    if message.action is Action.RESOLVE:
        return result
    content = describe(message)
    details: dict[str, Any] = {label: fit(value, DETAIL_LIMIT) for label, value in content.facts}
    details["Reason"] = fit(content.summary, DETAIL_LIMIT)
    if content.entries:
        details["Alerts"] = [f"{entry.headline} — {entry.detail}" for entry in content.entries]
        if content.more_entries:
            details["Alerts"].append(f"…and {content.more_entries} more")
    event_payload: dict[str, Any] = {
        "summary": fit(content.headline, SUMMARY_LIMIT),
        "source": f"{message.organization}/{message.project}",
        "severity": SEVERITIES.get(message.level, "info"),
        "component": message.project,
        "group": _group(message),
        "class": str(message.kind),
        "custom_details": details,
    }
    timestamp = iso_time(message.last_seen)
    if timestamp:
        event_payload["timestamp"] = timestamp
    result["payload"] = event_payload
    result["client"] = "Vedette"
    if content.url:
        result["client_url"] = content.url
        result["links"] = [{"href": content.url, "text": "Open in Vedette"}]
    return result


def _group(message: Message) -> str:
    """The environment (production, staging...), else the project: PagerDuty's logical group."""
    environment = message.environment or (message.event.environment if message.event else None)
    return fit(environment or message.project, DETAIL_LIMIT)

"""Uptime issues: the events that stand for an outage or an expiring certificate, stored through
the same path as every event (so alert rules see them), and the resolve on recovery.

One issue per monitor for outages (grouping hash ``uptime:<id>``) and one for its certificate
(``uptime-tls:<id>``): a second outage reopens the first issue as a regression, as Sentry does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Connection

from vedette.alerts import compose
from vedette.alerts.evaluate import AlertSettings, HourlyBudget, Outgoing, fire
from vedette.alerts.message import Action
from vedette.domain.alert_rules import Trigger
from vedette.domain.events import Event, Grouping, IssueStatus, IssueSummary
from vedette.domain.processed import ProcessedEnvelope, ProcessedEvent
from vedette.storage import alert_facts, alert_rules, queries
from vedette.storage import uptime as storage
from vedette.storage.ingest_store import IssueOutcome, store_processed
from vedette.storage.uptime import CheckRow, UptimeMonitor


def outage_event(
    monitor: UptimeMonitor, checks: list[CheckRow], opening: bool, now: float
) -> ProcessedEvent:
    """An event of the monitor's outage issue; the opening one lists the failures that made
    the outage (newest first), each later one the failure it stands for."""
    latest = checks[0]
    title = f"Uptime: {monitor.url} is down"
    reason = latest.error or latest.error_class or "failed"
    tags = [
        ["uptime.monitor", monitor.name],
        ["uptime.error", latest.error_class or "unknown"],
        ["uptime.transition", "down" if opening else "failing"],
    ]
    event = _event(monitor, f"uptime:{monitor.id}:{latest.checked_at}", now, "error", tags)
    event["logentry"] = {"formatted": f"{title}: {reason}"}
    event["contexts"] = {
        "uptime": {
            "monitor": monitor.name,
            "url": monitor.url,
            "method": monitor.method,
            "failures": [_failure(c) for c in checks],
        }
    }
    summary = IssueSummary(title, monitor.url, "error", "default", {"title": title})
    return ProcessedEvent(event, Grouping("uptime", (f"uptime:{monitor.id}",)), summary)


def certificate_event(monitor: UptimeMonitor, expires_at: float, now: float) -> ProcessedEvent:
    days = max(0.0, (expires_at - now) / 86400)
    when = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"Uptime: the TLS certificate of {monitor.url} expires soon"
    tags = [["uptime.monitor", monitor.name], ["uptime.transition", "certificate"]]
    event = _event(monitor, f"uptime-tls:{monitor.id}:{expires_at}", now, "warning", tags)
    event["logentry"] = {"formatted": f"{title}: in {days:.1f} days ({when})"}
    event["contexts"] = {"uptime": {"url": monitor.url, "certificate_expires": when}}
    summary = IssueSummary(title, monitor.url, "warning", "default", {"title": title})
    return ProcessedEvent(event, Grouping("uptime", (f"uptime-tls:{monitor.id}",)), summary)


def _event(
    monitor: UptimeMonitor, key: str, now: float, level: str, tags: list[list[str]]
) -> Event:
    if monitor.environment:
        tags = [*tags, ["environment", monitor.environment]]
    return {
        "event_id": uuid.uuid5(uuid.NAMESPACE_URL, f"vedette-{key}").hex,
        "timestamp": now,
        "received": now,
        "level": level,
        "platform": "other",
        "type": "default",
        "logger": "uptime",
        "environment": monitor.environment,
        "tags": tags,
    }


def _failure(check: CheckRow) -> dict[str, object]:
    return {
        "at": datetime.fromtimestamp(check.checked_at, UTC).isoformat(),
        "status": check.status_code,
        "error": check.error_class,
        "detail": check.error,
        "latency_ms": round(check.latency_ms),
    }


def store(conn: Connection, project_id: int, event: ProcessedEvent, now: float) -> IssueOutcome:
    """Store the event as the worker stores an SDK's; the outcome is what alert rules judge."""
    (outcome,) = store_processed(conn, [(project_id, ProcessedEnvelope(errors=[event]))], now)
    return outcome


def resolve(
    conn: Connection, issue_id: int, reason: str, now: float, alerts: AlertSettings | None
) -> None:
    """Resolve the issue if it is open, and tell the rules with the uptime trigger (PagerDuty
    incidents are resolved by the alerts' periodic job once the issue is)."""
    facts = alert_facts.issue_facts(conn, [issue_id]).get(issue_id)
    if facts is None or facts.status != IssueStatus.UNRESOLVED:
        return
    queries.set_issue_status(conn, issue_id, IssueStatus.RESOLVED, now, None)
    if alerts is None:
        return
    rules = alert_rules.rules_of_projects(conn, [facts.project_id], [Trigger.UPTIME])
    if not rules:
        return
    label = alert_facts.project_labels(conn, [facts.project_id])[facts.project_id]
    resolved = alert_facts.issue_facts(conn, [issue_id])[issue_id]
    budget, out = HourlyBudget(alerts.hourly_cap, now), Outgoing(now)
    for rule in rules:
        message = compose.issue_message(
            rule, label, resolved, None, reason, alerts.base_url, action=Action.RESOLVE
        )
        fire(conn, rule, message, budget, out, issue_id)
    out.write(conn)


def delete_monitor(conn: Connection, monitor: UptimeMonitor, now: float) -> None:
    """Delete the monitor with its results; its open issues are resolved (nothing would)."""
    for issue_id in (monitor.issue_id, monitor.tls_issue_id):
        if issue_id is not None:
            resolve(conn, issue_id, "Monitor deleted", now, None)
    storage.delete_monitor(conn, monitor.id)

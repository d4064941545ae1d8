"""Issue alert rules, judged on what a batch stored (run inside the batch's transaction, so a
notification is written exactly when the result that triggered it is)."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection

from vedette.alerts import compose
from vedette.alerts.filters import event_matches
from vedette.alerts.message import Action, Message
from vedette.domain.alert_rules import (
    BASELINE_SECONDS,
    ISSUE_TRIGGERS,
    Rule,
    Trigger,
    spike,
)
from vedette.domain.events import Event
from vedette.domain.search import IssueSearch, parse_search
from vedette.storage import alert_facts, alert_outbox, alert_rules
from vedette.storage.alert_facts import IssueFacts
from vedette.storage.alert_outbox import NewNotification
from vedette.storage.ingest_store import IssueOutcome


@dataclass(frozen=True, slots=True)
class AlertSettings:
    base_url: str
    hourly_cap: int = 100  # notifications a project may fire per hour; then one summary


def issues_stored(
    conn: Connection, outcomes: list[IssueOutcome], now: float, settings: AlertSettings
) -> None:
    """Fire the issue rules that the batch's outcomes meet."""
    if not outcomes:
        return
    rules = alert_rules.rules_of_projects(conn, {o.project_id for o in outcomes}, ISSUE_TRIGGERS)
    if not rules:
        return
    by_project: dict[int, list[Rule]] = defaultdict(list)
    for rule in rules:
        by_project[rule.project_id].append(rule)
    facts = alert_facts.issue_facts(conn, [o.group_id for o in outcomes])
    candidates = [
        (rule, outcome, event)
        for outcome in outcomes
        if outcome.group_id in facts and facts[outcome.group_id].status != "ignored"  # muted
        for rule in by_project.get(outcome.project_id, [])
        if could_fire(rule, outcome, facts[outcome.group_id])
        and (event := _firing_event(rule, outcome, facts[outcome.group_id])) is not None
    ]
    if not candidates:
        return
    last = alert_outbox.last_firings(conn, [(r.id, o.group_id) for r, o, _ in candidates])
    labels = alert_facts.project_labels(conn, {o.project_id for _, o, _ in candidates})
    budget, out = HourlyBudget(settings.hourly_cap, now), Outgoing(now)
    for rule, outcome, event in candidates:
        fired_before = last.get((rule.id, outcome.group_id))
        if fired_before is not None and now - fired_before < rule.spec.interval_seconds:
            continue
        issue = facts[outcome.group_id]
        reason = _REASONS[rule.spec.trigger](conn, rule, outcome, issue, now)
        if reason is None:
            continue
        message = compose.issue_message(
            rule, labels[outcome.project_id], issue, event, reason, settings.base_url
        )
        fire(conn, rule, message, budget, out, outcome.group_id, event.get("event_id"))
        last[(rule.id, outcome.group_id)] = now
    out.write(conn)


def could_fire(rule: Rule, outcome: IssueOutcome, issue: IssueFacts) -> bool:
    """What the issue's counters allow, before any query: an issue with 3 events in all cannot
    have 100 within a window, nor spike past a minimum of 10 in the last hour."""
    spec = rule.spec
    match spec.trigger:
        case Trigger.NEW_ISSUE:
            return outcome.new
        case Trigger.REGRESSION:
            return outcome.regressed or outcome.escalated
        case Trigger.FREQUENCY:
            return issue.times_seen >= (spec.threshold or 1)
        case Trigger.USERS:
            return issue.user_count >= (spec.threshold or 1)
        case Trigger.SPIKE:
            return issue.times_seen >= (spec.min_count or 1)
        case Trigger.CRON:
            return outcome.monitor_failure is not None
        case Trigger.UPTIME:
            return outcome.latest.get("logger") == "uptime"
    return False


class HourlyBudget:
    """How many more alerts each project may send this hour (``AlertSettings.hourly_cap``),
    counted once per project and then kept in step as alerts fire."""

    def __init__(self, cap: int, now: float) -> None:
        self._cap = cap
        self._hour_start = now - now % 3600
        self._sent: dict[int, int] = {}

    def take(self, conn: Connection, project_id: int) -> bool:
        """One alert's worth for the project; False when the hour's cap is reached."""
        if project_id not in self._sent:
            self._sent[project_id] = alert_outbox.sent_since(conn, project_id, self._hour_start)
        if self._sent[project_id] >= self._cap:
            return False
        self._sent[project_id] += 1
        return True


@dataclass(slots=True)
class Outgoing:
    """What one pass of the rules fired and queued, written with one statement per table
    (``write``) instead of one per alert: a burst of new issues fires hundreds at once."""

    now: float
    firings: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[NewNotification] = field(default_factory=list)
    incidents: list[tuple[int, int, int]] = field(default_factory=list)

    def write(self, conn: Connection) -> None:
        alert_outbox.record_firings(conn, self.firings)
        alert_outbox.enqueue(conn, self.notifications, self.now)
        alert_outbox.open_incidents(conn, self.incidents)


def fire(
    conn: Connection,
    rule: Rule,
    message: Message,
    budget: HourlyBudget,
    out: Outgoing,
    group_id: int | None = None,
    event_id: str | None = None,
) -> None:
    """Record that ``rule`` fired and queue what it sends: now, in its digest, or (past the
    project's hourly cap) nothing but a count for the hour's summary."""
    if not budget.take(conn, rule.project_id):
        delivery = "suppressed"
    elif rule.spec.digest_seconds > 0:
        delivery = "digest"
    else:
        delivery = "sent"
        send_to_actions(rule, message, out, group_id)
    out.firings.append(
        {
            "rule_id": rule.id,
            "project_id": rule.project_id,
            "group_id": group_id,
            "event_id": event_id,
            "fired_at": out.now,
            "delivery": delivery,
            "message": message.to_json(),
        }
    )


def send_to_actions(
    rule: Rule,
    message: Message,
    out: Outgoing,
    group_id: int | None = None,
    action_ids: set[int] | None = None,
) -> None:
    """One outbox row per action of the rule, each with its own stable id."""
    for action_id, action in zip(rule.action_ids, rule.spec.actions, strict=True):
        if action_ids is not None and action_id not in action_ids:
            continue
        uid = compose.new_id()
        out.notifications.append(
            NewNotification(
                uid,
                rule.project_id,
                rule.id,
                action_id,
                group_id,
                action.target,
                action.secret,
                replace(message, id=uid).to_json(),
            )
        )
        is_pagerduty = action.target.partition(":")[0] == "pagerduty"
        if is_pagerduty and group_id is not None and message.action == Action.TRIGGER:
            out.incidents.append((action_id, group_id, rule.id))


def queue_test_notification(conn: Connection, rule: Rule, base_url: str, now: float) -> None:
    """A test message to every target of the rule ("send test notification")."""
    label = alert_facts.project_labels(conn, [rule.project_id])[rule.project_id]
    out = Outgoing(now)
    send_to_actions(rule, compose.test_message(rule, label, base_url), out)
    out.write(conn)


@functools.lru_cache(maxsize=1024)
def _search(query: str) -> IssueSearch:
    return parse_search(query)


def _firing_event(rule: Rule, outcome: IssueOutcome, issue: IssueFacts) -> Event | None:
    """The event the rule fires for: the newest of the batch that passes its filter (each is
    judged: a staging event after a production one must not hide it), or None."""
    if not rule.spec.filter_query:
        return outcome.latest
    search = _search(rule.spec.filter_query)
    return next(
        (e for e in reversed(outcome.batch_events())
         if event_matches(search, e, issue.title, issue.culprit)),
        None,
    )  # fmt: skip


Reason = Callable[[Connection, Rule, IssueOutcome, IssueFacts, float], str | None]


def _new_issue(
    _c: Connection, _r: Rule, outcome: IssueOutcome, _i: IssueFacts, _n: float
) -> str | None:
    return "New issue" if outcome.new else None


def _regression(
    _c: Connection, _r: Rule, outcome: IssueOutcome, _i: IssueFacts, _n: float
) -> str | None:
    if outcome.regressed:
        return "Regressed: a resolved issue happened again"
    if outcome.escalated:
        return "Escalated: an ignored issue reached the condition it was ignored until"
    return None


def _counted_in_window(count: Callable[[Connection, int, float], int], noun: str) -> Reason:
    """A trigger that fires once ``count`` (events, users) within the rule's window reaches
    its threshold."""

    def reason(
        conn: Connection, rule: Rule, outcome: IssueOutcome, _i: IssueFacts, now: float
    ) -> str | None:
        window = rule.spec.window_seconds or 3600
        found = count(conn, outcome.group_id, now - window)
        if found < (rule.spec.threshold or 1):
            return None
        return f"{found} {noun} in the last {_duration(window)}"

    return reason


_frequency = _counted_in_window(alert_facts.events_between, "events")
_users = _counted_in_window(alert_facts.users_since, "users")


def _spike(
    conn: Connection, rule: Rule, outcome: IssueOutcome, issue: IssueFacts, now: float
) -> str | None:
    hour_ago = now - 3600
    recent = alert_facts.events_between(conn, outcome.group_id, hour_ago)
    start = max(issue.first_seen, now - BASELINE_SECONDS)
    hours = max(0.0, hour_ago - start) / 3600
    baseline = alert_facts.events_between(conn, outcome.group_id, start, hour_ago) if hours else 0
    if not spike(recent, baseline, hours, rule.spec):
        return None
    average = baseline / max(1.0, hours)
    return f"Spike: {recent} events in the last hour, against {average:.1f} an hour before"


def _cron(_c: Connection, _r: Rule, outcome: IssueOutcome, _i: IssueFacts, _n: float) -> str | None:
    if outcome.monitor_failure is None:
        return None
    entry = outcome.latest.get("logentry") or {}
    return str(entry.get("formatted") or f"Cron monitor {outcome.monitor_failure}")


def _uptime(
    _c: Connection, _r: Rule, outcome: IssueOutcome, _i: IssueFacts, _n: float
) -> str | None:
    """The event that opened an outage or a certificate warning (uptime tags it so)."""
    tags = dict(tuple(t) for t in outcome.latest.get("tags") or [])
    if tags.get("uptime.transition") not in ("down", "certificate"):
        return None
    entry = outcome.latest.get("logentry") or {}
    return str(entry.get("formatted") or "Uptime monitor is down")


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


_REASONS: dict[Trigger, Reason] = {
    Trigger.NEW_ISSUE: _new_issue,
    Trigger.REGRESSION: _regression,
    Trigger.FREQUENCY: _frequency,
    Trigger.USERS: _users,
    Trigger.SPIKE: _spike,
    Trigger.CRON: _cron,
    Trigger.UPTIME: _uptime,
}

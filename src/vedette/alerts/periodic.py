"""The alert jobs that depend on the clock: metric rules, digests, the hourly cap's summaries
and PagerDuty incidents of resolved issues. The worker runs ``tick`` every few seconds (tests
call it with a moved clock)."""

from __future__ import annotations

from sqlalchemy import Connection

from vedette.alerts import compose
from vedette.alerts.evaluate import AlertSettings, HourlyBudget, Outgoing, fire, send_to_actions
from vedette.alerts.message import Action, Message
from vedette.domain.alert_rules import Trigger, metric_state
from vedette.storage import alert_facts, alert_outbox, alert_rules


def tick(conn: Connection, now: float, settings: AlertSettings) -> None:
    out = Outgoing(now)
    evaluate_metric_rules(conn, settings, out)
    send_digests(conn, settings, out)
    send_suppression_summaries(conn, settings, out)
    resolve_incidents(conn, settings, out)
    out.write(conn)


def evaluate_metric_rules(conn: Connection, settings: AlertSettings, out: Outgoing) -> None:
    """A notification when a rule's state changes: ok -> warning/critical fires, back to ok
    resolves. Steady states send nothing."""
    now = out.now
    rules = alert_rules.rules_with_trigger(conn, Trigger.METRIC)
    if not rules:
        return
    labels = alert_facts.project_labels(conn, {r.project_id for r in rules})
    budget = HourlyBudget(settings.hourly_cap, now)
    for rule in rules:
        spec = rule.spec
        assert spec.metric is not None
        window = spec.window_seconds or 600
        value = alert_facts.metric_value(
            conn, rule.project_id, spec.metric, spec.transaction, now - window, now
        )
        state = metric_state(value, spec)
        alert_rules.set_metric_state(conn, rule.id, state, value)
        if state != rule.state:
            message = compose.metric_message(
                rule, labels[rule.project_id], state, value, settings.base_url
            )
            fire(conn, rule, message, budget, out)


def send_digests(conn: Connection, settings: AlertSettings, out: Outgoing) -> None:
    """At most one message per rule per digest period, listing what fired meanwhile."""
    now = out.now
    rules = alert_rules.rules_with_digest(conn)
    due = [
        r
        for r in rules
        if r.last_digest_at is None or now >= r.last_digest_at + r.spec.digest_seconds
    ]
    labels = alert_facts.project_labels(conn, {r.project_id for r in due}) if due else {}
    for rule in due:
        waiting = alert_outbox.waiting_for_digest(conn, rule.id)
        if not waiting:
            continue
        items = [Message.from_json(m) for _, m in waiting]
        message = compose.digest_message(rule, labels[rule.project_id], items, settings.base_url)
        send_to_actions(rule, message, out)
        alert_outbox.mark_digested(conn, [firing_id for firing_id, _ in waiting])
        alert_rules.set_last_digest(conn, rule.id, now)


def send_suppression_summaries(conn: Connection, settings: AlertSettings, out: Outgoing) -> None:
    """Once an hour with suppressed alerts is over: one "N more suppressed" message to each
    target of the rules that were held back."""
    now = out.now
    hour_start = now - now % 3600
    for project_id, hour, count, rule_ids in alert_outbox.suppressed_hours(conn, hour_start):
        if not alert_outbox.claim_summary(conn, project_id, hour):
            continue
        label = alert_facts.project_labels(conn, [project_id])[project_id]
        message = compose.suppressed_message(label, count, settings.hourly_cap, settings.base_url)
        sent_to: set[str] = set()
        for rule_id in rule_ids:
            rule = alert_rules.get_rule(conn, rule_id)
            if rule is None:
                continue
            fresh = {
                i
                for i, a in zip(rule.action_ids, rule.spec.actions, strict=True)
                if a.target not in sent_to
            }
            sent_to.update(a.target for a in rule.spec.actions)
            send_to_actions(rule, message, out, action_ids=fresh)


def resolve_incidents(conn: Connection, settings: AlertSettings, out: Outgoing) -> None:
    """PagerDuty incidents opened for issues that are resolved now get their resolve event."""
    taken = alert_outbox.take_resolved_incidents(conn)
    if not taken:
        return
    facts = alert_facts.issue_facts(conn, {g for _, g, _ in taken})
    labels = alert_facts.project_labels(conn, {f.project_id for f in facts.values()})
    for action_id, group_id, rule_id in taken:
        rule = alert_rules.get_rule(conn, rule_id)
        issue = facts.get(group_id)
        if rule is None or issue is None or action_id not in rule.action_ids:
            continue
        message = compose.issue_message(
            rule,
            labels[issue.project_id],
            issue,
            None,
            "Resolved",
            settings.base_url,
            action=Action.RESOLVE,
        )
        send_to_actions(rule, message, out, group_id, action_ids={action_id})

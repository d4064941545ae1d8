"""Feedback alert rules: each report a user sends (feedback and user_report items, the REST API,
the crash-report page) fires the project's ``feedback`` rules once, inside the transaction
that stored it. A report stored twice (a re-sent envelope) does not fire twice: a rule that
has fired for a report's id is skipped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection

from vedette.alerts import compose
from vedette.alerts.evaluate import AlertSettings, HourlyBudget, Outgoing, fire
from vedette.domain.alert_rules import Trigger
from vedette.domain.processed import UserFeedback
from vedette.storage import alert_facts, alert_outbox, alert_rules


def feedback_stored(
    conn: Connection,
    stored: Sequence[tuple[int, UserFeedback]],
    now: float,
    settings: AlertSettings,
) -> None:
    """Fire the feedback rules of the projects these reports (project id, report) went to."""
    if not stored:
        return
    rules = alert_rules.rules_of_projects(conn, {pid for pid, _ in stored}, {Trigger.FEEDBACK})
    if not rules:
        return
    fired = alert_outbox.fired_for_events(
        conn, [r.id for r in rules], [f.feedback_id for _, f in stored]
    )
    by_project = defaultdict(list)
    for rule in rules:
        by_project[rule.project_id].append(rule)
    labels = alert_facts.project_labels(conn, by_project)
    budget, out = HourlyBudget(settings.hourly_cap, now), Outgoing(now)
    for project_id, report in stored:
        if project_id not in by_project:
            continue
        groups = alert_facts.event_groups(conn, project_id, [report.event_id or ""])
        group_id = groups.get(report.event_id or "")
        issue = None if group_id is None else alert_facts.issue_facts(conn, [group_id])[group_id]
        for rule in by_project[project_id]:
            if (rule.id, report.feedback_id) in fired:
                continue
            message = compose.feedback_message(
                rule, labels[project_id], report, issue, settings.base_url
            )
            # No issue id: a report opens no incident (PagerDuty) of the issue it is about.
            fire(conn, rule, message, budget, out, None, report.feedback_id)
            fired.add((rule.id, report.feedback_id))
    out.write(conn)

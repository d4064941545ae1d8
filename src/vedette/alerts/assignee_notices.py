"""Emails to whoever an issue is assigned to: when it regresses (from the worker's results) and
when someone else assigns it to them. Queued in the notification outbox inside the transaction
that stored the regression or the assignment, so a notice decided is never lost; the dispatcher
delivers them like any alert (at least once, with retries)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from vedette.alerts import compose
from vedette.alerts.message import Action, Message
from vedette.storage import alert_facts, alert_outbox, assignment
from vedette.storage.alert_facts import IssueFacts, ProjectLabel
from vedette.storage.alert_outbox import NewNotification
from vedette.storage.assignment import Assignee
from vedette.storage.ingest_store import IssueOutcome

RULE_NAME = "Issues assigned to you"


def notice(
    label: ProjectLabel, issue: IssueFacts, reason: str, base_url: str, release: str | None
) -> Message:
    """The message an assignee gets about one of their issues."""
    return Message(
        **compose.about(label, RULE_NAME, None),
        **compose.issue_fields(label, issue, base_url),
        action=Action.TRIGGER,
        reason=reason,
        release=release,
    )


def _queue(conn: Connection, message: Message, emails: Sequence[str], now: float) -> None:
    items = []
    for email in emails:
        uid = compose.new_id()
        items.append(
            NewNotification(
                uid,
                message.project_id,
                None,
                None,
                message.issue_id,
                f"email:{email}",
                None,
                {**message.to_json(), "id": uid},
            )
        )
    alert_outbox.enqueue(conn, items, now)


def regressions(
    conn: Connection, outcomes: Sequence[IssueOutcome], now: float, base_url: str
) -> None:
    """Tell the assignees of the issues that came back."""
    back = {o.group_id: o for o in outcomes if o.regressed}
    owners = assignment.assignees_of(conn, sorted(back))
    if not owners:
        return
    facts = alert_facts.issue_facts(conn, owners)
    labels = alert_facts.project_labels(conn, {back[g].project_id for g in owners})
    for group_id, owner in sorted(owners.items()):
        outcome, issue = back[group_id], facts.get(group_id)
        if issue is None:
            continue
        release = outcome.latest.get("release")
        version = release if isinstance(release, str) and release else None
        reason = f"Regressed in {version}" if version else "Regressed"
        message = notice(labels[outcome.project_id], issue, reason, base_url, version)
        _queue(conn, message, assignment.emails_of(conn, owner), now)


def assigned(
    conn: Connection,
    issue_ids: Sequence[int],
    assignee: Assignee,
    actor_email: str | None,
    base_url: str,
    now: float,
) -> None:
    """Tell a new assignee (every member of a team) of issues someone else assigned to them."""
    emails = [e for e in assignment.emails_of(conn, assignee) if e != actor_email]
    if not emails or not issue_ids:
        return
    facts = alert_facts.issue_facts(conn, issue_ids)
    labels = alert_facts.project_labels(conn, {f.project_id for f in facts.values()})
    by = actor_email or "an API token"
    to = "you" if assignee.type == "user" else f"team #{assignee.name}"
    for issue in facts.values():
        message = notice(labels[issue.project_id], issue, f"Assigned to {to} by {by}", base_url,
                         None)  # fmt: skip
        _queue(conn, message, emails, now)

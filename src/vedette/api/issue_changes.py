"""Changing issues on someone's behalf, for the API and the web UI alike: status and assignee,
each change recorded in the issue's activity with who made it, and a new assignee told by
email (in the same transaction, through the notification outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from vedette.alerts import assignee_notices
from vedette.domain.assignment import AssigneeRef
from vedette.domain.events import IssueStatus
from vedette.domain.issue_activity import ActivityType, status_activity
from vedette.storage import assignment, issue_activity, queries
from vedette.storage.assignment import Assignee
from vedette.storage.issue_activity import NewActivity
from vedette.storage.schema import groups
from vedette.storage.snoozes import Snooze, clear_snooze, snooze_issue


class ChangeError(ValueError):
    """A change that cannot be made as asked (an assignee who is not in the organisation)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a signed-in user, or an API token (no user)."""

    user_id: int | None = None
    email: str | None = None


TOKEN = Actor()


def _snooze_data(snooze: Snooze) -> dict[str, Any]:
    """Sentry's ignore options of a ``set_ignored`` activity."""
    data: dict[str, Any] = {}
    if snooze.seconds is not None:
        data["ignoreDuration"] = round(snooze.seconds / 60)
    if snooze.more_events is not None:
        data["ignoreCount"] = snooze.more_events
    if snooze.more_users is not None:
        data["ignoreUserCount"] = snooze.more_users
    return data


def set_status(
    conn: Connection,
    issue_id: int,
    project_id: int,
    status: IssueStatus,
    snooze: Snooze,
    actor: Actor,
    now: float,
) -> None:
    """Ignoring keeps Sentry's ignore options (the snooze); any other status forgets them.
    Recorded in the activity when the status changes (or an ignored issue is ignored anew)."""
    before = conn.execute(
        select(groups.c.status).where(groups.c.id == issue_id)
    ).scalar_one_or_none()
    if before is None:
        return
    data: dict[str, Any] = {}
    if status == IssueStatus.IGNORED:
        snooze_issue(conn, issue_id, snooze, now)
        data = _snooze_data(snooze)
    else:
        release = (
            queries.latest_release(conn, project_id)
            if status == IssueStatus.RESOLVED_IN_NEXT_RELEASE
            else None
        )
        queries.set_issue_status(conn, issue_id, status, now, release)
        clear_snooze(conn, issue_id)
        if status == IssueStatus.RESOLVED_IN_NEXT_RELEASE:
            data = {"inNextRelease": True, "version": release or ""}
    if before != status.value or status == IssueStatus.IGNORED:
        issue_activity.record(
            conn,
            [NewActivity(issue_id, project_id, status_activity(status), actor.user_id, data)],
            now,
        )


def assign(
    conn: Connection,
    organization_id: int,
    project_id: int,
    issue_ids: Sequence[int],
    ref: AssigneeRef | None,
    actor: Actor,
    now: float,
    base_url: str,
) -> Assignee | None:
    """Assign the issues (``ref`` None: unassign); the assignee, or ChangeError when ``ref``
    names no user or team of the organisation."""
    assignee = None if ref is None else assignment.resolve(conn, organization_id, ref)
    if ref is not None and assignee is None:
        raise ChangeError("assignedTo names no user or team of this organization")
    changed = [i for i in issue_ids if assignment.set_assignee(conn, i, assignee, now)]
    if assignee is None:
        kind, data = ActivityType.UNASSIGNED, {}
    else:
        kind = ActivityType.ASSIGNED
        data = {
            "assignee": str(assignee.id),
            "assigneeType": assignee.type,
            "assigneeEmail": assignee.email,
            "assigneeName": assignee.name,
        }
    issue_activity.record(
        conn, [NewActivity(i, project_id, kind, actor.user_id, data) for i in changed], now
    )
    someone_else = assignee is not None and not (
        assignee.type == "user" and assignee.id == actor.user_id
    )
    if assignee is not None and changed and someone_else:
        assignee_notices.assigned(conn, changed, assignee, actor.email, base_url, now)
    return assignee


def issues_of_project(conn: Connection, project_id: int, issue_ids: Sequence[int]) -> list[int]:
    """Those of the ids that are issues of the project, in order."""
    found = set(
        conn.execute(
            select(groups.c.id).where(groups.c.id.in_(issue_ids), groups.c.project_id == project_id)
        ).scalars()
    )
    return [i for i in issue_ids if i in found]

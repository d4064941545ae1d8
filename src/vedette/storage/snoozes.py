"""Ignoring an issue until something happens (Sentry's ignore options): a date, N more events,
N more users, or forever. ``ingest_store`` brings the issue back when the condition is met."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from vedette.domain.events import IssueStatus
from vedette.storage.schema import group_users, groups


@dataclass(frozen=True, slots=True)
class Snooze:
    """Relative conditions as the user gives them; all None: ignored forever."""

    seconds: float | None = None  # ignore for this long
    more_events: int | None = None  # until this many more events
    more_users: int | None = None  # until this many more distinct users

    def forever(self) -> bool:
        return self.seconds is None and self.more_events is None and self.more_users is None


def snooze_issue(conn: Connection, issue_id: int, snooze: Snooze, now: float) -> bool:
    """Ignore the issue with ``snooze``'s conditions, turned into absolute targets; False if there
    is no such issue."""
    row = conn.execute(select(groups.c.times_seen).where(groups.c.id == issue_id)).first()
    if row is None:
        return False
    users = None
    if snooze.more_users is not None:
        users = (
            int(
                conn.execute(
                    select(func.count()).where(group_users.c.group_id == issue_id)
                ).scalar_one()
            )
            + snooze.more_users
        )
    conn.execute(
        update(groups)
        .where(groups.c.id == issue_id)
        .values(
            status=IssueStatus.IGNORED.value,
            substatus="archived_forever" if snooze.forever() else "archived_until_condition_met",
            snooze_until=None if snooze.seconds is None else now + snooze.seconds,
            snooze_times_seen=None
            if snooze.more_events is None
            else int(row.times_seen) + snooze.more_events,
            snooze_user_count=users,
        )
    )
    return True


def clear_snooze(conn: Connection, issue_id: int) -> None:
    """Forget the conditions (the issue's status changed by hand)."""
    conn.execute(
        update(groups)
        .where(groups.c.id == issue_id)
        .values(snooze_until=None, snooze_times_seen=None, snooze_user_count=None)
    )

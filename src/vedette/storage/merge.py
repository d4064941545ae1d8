"""Merging issues by hand (Sentry's ``{"merge": 1}``): the largest issue (the oldest of equals)
becomes the parent and takes the others' events, counters, users, tag values, grouping hashes
(so their new events land in it), history and alert references; the children are deleted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from vedette.domain.issue_activity import ActivityType
from vedette.storage import assignment, issue_activity, issue_redirects, trackers, unmerge
from vedette.storage.dialect import insert_ignore, upsert_add
from vedette.storage.issue_activity import NewActivity
from vedette.storage.schema import (
    alert_firings,
    alert_open_incidents,
    events,
    group_hashes,
    group_tag_values,
    group_users,
    groups,
    notifications,
    uptime_monitors,
)

MAX_MERGE = 100  # issues in one merge


class MergeError(ValueError):
    """Not something that can be merged (fewer than two issues of the project)."""


@dataclass(frozen=True, slots=True)
class MergeCandidate:
    id: int
    times_seen: int
    first_seen: float


@dataclass(frozen=True, slots=True)
class MergeResult:
    parent: int
    children: list[int]


def choose_parent(candidates: Sequence[MergeCandidate]) -> int:
    """The issue with the most events; among equals the oldest, then the lowest id."""
    return min(candidates, key=lambda c: (-c.times_seen, c.first_seen, c.id)).id


def merge_issues(
    conn: Connection, project_id: int, issue_ids: Sequence[int], user_id: int | None, now: float
) -> MergeResult:
    wanted = sorted(set(issue_ids))
    if len(wanted) > MAX_MERGE:
        raise MergeError(f"at most {MAX_MERGE} issues can be merged at once")
    # Locked in id order, as the worker locks the issues it stores events of (no deadlock).
    rows = conn.execute(
        select(groups)
        .where(groups.c.id.in_(wanted), groups.c.project_id == project_id)
        .order_by(groups.c.id)
        .with_for_update()
    ).all()
    if len(rows) < 2:
        raise MergeError("merge needs at least two issues of this project")
    parent_id = choose_parent([MergeCandidate(r.id, r.times_seen, r.first_seen) for r in rows])
    parent = next(r for r in rows if r.id == parent_id)
    children = [r for r in rows if r.id != parent_id]
    child_ids = [int(c.id) for c in children]
    conn.execute(update(groups).where(groups.c.id == parent_id).values(_counters(parent, rows)))
    unmerge.fill_sole_hashes(conn, [int(r.id) for r in rows])  # so that they can be unmerged
    _move_tag_values(conn, child_ids, parent_id)
    _move_users(conn, child_ids, parent_id)
    _repoint(conn, child_ids, parent_id)
    issue_activity.move(conn, child_ids, parent_id)
    trackers.move_links(conn, child_ids, parent_id)
    assignment.forget(conn, child_ids)
    conn.execute(delete(groups).where(groups.c.id.in_(child_ids)))
    issue_redirects.record(conn, child_ids, parent_id)
    merged = [{"id": str(c.id), "title": c.title} for c in children]
    issue_activity.record(
        conn,
        [NewActivity(parent_id, project_id, ActivityType.MERGE, user_id, {"issues": merged})],
        now,
    )
    return MergeResult(parent_id, child_ids)


def _counters(parent: Any, rows: Sequence[Any]) -> dict[str, Any]:
    """The parent's counters once it holds every issue's events."""
    first = min(rows, key=lambda r: r.first_seen)
    last = max(rows, key=lambda r: r.last_seen)
    return {
        "times_seen": sum(int(r.times_seen) for r in rows),
        "first_seen": first.first_seen,
        "last_seen": last.last_seen,
        "first_release": first.first_release or parent.first_release,
        "last_release": last.last_release or parent.last_release,
    }


def _move_tag_values(conn: Connection, child_ids: list[int], parent_id: int) -> None:
    t = group_tag_values
    rows = conn.execute(
        select(t.c.key, t.c.value, t.c.times_seen, t.c.first_seen, t.c.last_seen)
        .where(t.c.group_id.in_(child_ids))
        .order_by(t.c.key, t.c.value)
    ).all()
    summed: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        found = summed.setdefault((r.key, r.value), [0, r.first_seen, r.last_seen])
        found[0] += r.times_seen
        found[1], found[2] = min(found[1], r.first_seen), max(found[2], r.last_seen)
    if summed:
        conn.execute(
            upsert_add(
                conn,
                t,
                key=("group_id", "key", "value"),
                add=("times_seen",),
                greatest_of=("last_seen",),
                least_of=("first_seen",),
            ),
            [
                {"group_id": parent_id, "key": k, "value": v, "times_seen": int(n),
                 "first_seen": lo, "last_seen": hi}
                for (k, v), (n, lo, hi) in sorted(summed.items())
            ],
        )  # fmt: skip
    conn.execute(delete(t).where(t.c.group_id.in_(child_ids)))


def _move_users(conn: Connection, child_ids: list[int], parent_id: int) -> None:
    keys = conn.execute(
        select(group_users.c.user_key).where(group_users.c.group_id.in_(child_ids)).distinct()
    ).scalars()
    rows = [{"group_id": parent_id, "user_key": k} for k in sorted(keys)]
    if rows:
        conn.execute(insert_ignore(conn, group_users), rows)
    conn.execute(delete(group_users).where(group_users.c.group_id.in_(child_ids)))


def _repoint(conn: Connection, child_ids: list[int], parent_id: int) -> None:
    """Events, grouping hashes and what alerts and monitors remember of the children."""
    for table, column in (
        (events, events.c.group_id),
        (group_hashes, group_hashes.c.group_id),
        (alert_firings, alert_firings.c.group_id),
        (notifications, notifications.c.group_id),
        (uptime_monitors, uptime_monitors.c.issue_id),
        (uptime_monitors, uptime_monitors.c.tls_issue_id),
    ):
        conn.execute(update(table).where(column.in_(child_ids)).values({column.name: parent_id}))
    # One open incident (PagerDuty) per action and issue: the parent's, else one child's.
    incidents = alert_open_incidents
    held = set(
        conn.execute(
            select(incidents.c.action_id).where(incidents.c.group_id == parent_id)
        ).scalars()
    )
    rows = conn.execute(
        select(incidents.c.action_id, incidents.c.group_id, incidents.c.rule_id)
        .where(incidents.c.group_id.in_(child_ids))
        .order_by(incidents.c.group_id)
    ).all()
    conn.execute(delete(incidents).where(incidents.c.group_id.in_(child_ids)))
    moved = []
    for r in rows:
        if r.action_id not in held:
            held.add(r.action_id)
            moved.append({"action_id": r.action_id, "group_id": parent_id, "rule_id": r.rule_id})
    if moved:
        conn.execute(insert(incidents), moved)

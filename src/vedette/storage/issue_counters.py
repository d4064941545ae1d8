"""What a batch of new error events does to their issues: counters, first and last seen,
tag values, users, and status changes (a resolved issue regresses, a snooze runs out).

Rows are updated in ascending issue id, so that concurrent workers on PostgreSQL take their
row locks in the same order and cannot deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select, update

from vedette.domain.events import Event, IssueStatus
from vedette.domain.processed import ProcessedEvent
from vedette.domain.regressions import IssueState, regresses
from vedette.storage.dialect import greatest, insert_ignore, least, upsert_add
from vedette.storage.schema import group_tag_values, group_users, groups, releases
from vedette.storage.user_identities import identity_tags


@dataclass(frozen=True, slots=True)
class _Snooze:
    status: IssueStatus
    times_seen: int
    until: float | None
    times_seen_target: int | None
    user_count_target: int | None


@dataclass(slots=True)
class _GroupDelta:
    """What one batch adds to one issue."""

    project_id: int
    events: list[ProcessedEvent] = field(default_factory=list)
    tags: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    users: set[str] = field(default_factory=set)


def event_tags(event: Event) -> list[tuple[str, str]]:
    """The event's tags, and its user's identities for search (user_identities.py)."""
    pairs = event.get("tags") or []
    return [*((str(k), str(v)) for k, v in pairs), *identity_tags(event)]


def apply_issue_deltas(
    conn: Connection,
    fresh_errors: list[tuple[int, ProcessedEvent]],
    group_of: dict[int, int],
    now: float,
) -> dict[int, tuple[bool, bool]]:
    """Update counters, tags, users and statuses; return (regressed, escalated) per group."""
    deltas: dict[int, _GroupDelta] = {}
    for index, (pid, processed) in enumerate(fresh_errors):
        delta = deltas.setdefault(group_of[index], _GroupDelta(pid))
        delta.events.append(processed)
        ts = float(processed.event["timestamp"])
        for key, value in event_tags(processed.event):
            bounds = delta.tags.setdefault((key, value), [0, ts, ts])
            bounds[0] += 1
            bounds[1], bounds[2] = min(bounds[1], ts), max(bounds[2], ts)
            if key == "user":
                delta.users.add(value)
    if not deltas:
        return {}
    states, snoozes = _group_states(conn, sorted(deltas))
    first_seen_of_release = _release_first_seen(conn, states, deltas)
    # Sorted ids: concurrent workers on PostgreSQL lock rows in the same order (no deadlock).
    changed: dict[int, tuple[bool, bool]] = {}
    for group_id in sorted(deltas):
        changed[group_id] = _update_group(
            conn, group_id, deltas[group_id], states[group_id], first_seen_of_release,
            snoozes[group_id], now,
        )  # fmt: skip
    tag_rows = [
        {"group_id": gid, "key": k, "value": v, "times_seen": n, "first_seen": lo, "last_seen": hi}
        for gid in sorted(deltas)
        for (k, v), (n, lo, hi) in sorted(deltas[gid].tags.items())
    ]
    if tag_rows:
        conn.execute(
            upsert_add(
                conn,
                group_tag_values,
                key=("group_id", "key", "value"),
                add=("times_seen",),
                greatest_of=("last_seen",),
                least_of=("first_seen",),
            ),
            tag_rows,
        )
    user_rows = [
        {"group_id": gid, "user_key": u}
        for gid in sorted(deltas)
        for u in sorted(deltas[gid].users)
    ]
    if user_rows:
        conn.execute(insert_ignore(conn, group_users), user_rows)
    for group_id in _escalated_by_users(conn, snoozes, changed):
        changed[group_id] = (changed[group_id][0], True)
    return changed


def _escalated_by_users(
    conn: Connection, snoozes: dict[int, _Snooze], changed: dict[int, tuple[bool, bool]]
) -> list[int]:
    """Ignored issues whose "until N users" snooze the new users reached: back to unresolved."""
    waiting = [
        gid
        for gid, s in snoozes.items()
        if s.status == IssueStatus.IGNORED
        and s.user_count_target is not None
        and not changed[gid][1]
    ]
    if not waiting:
        return []
    counts: dict[int, int] = dict(
        conn.execute(
            select(group_users.c.group_id, func.count())
            .where(group_users.c.group_id.in_(waiting))
            .group_by(group_users.c.group_id)
        ).all()
    )
    reached = [g for g in waiting if counts.get(g, 0) >= (snoozes[g].user_count_target or 0)]
    for group_id in reached:
        conn.execute(update(groups).where(groups.c.id == group_id).values(**UNSNOOZED))
    return reached


UNSNOOZED: dict[str, Any] = {
    "status": IssueStatus.UNRESOLVED.value,
    "substatus": "escalating",
    "snooze_until": None,
    "snooze_times_seen": None,
    "snooze_user_count": None,
}


def _group_states(
    conn: Connection, group_ids: list[int]
) -> tuple[dict[int, IssueState], dict[int, _Snooze]]:
    rows = conn.execute(
        select(
            groups.c.id,
            groups.c.status,
            groups.c.resolved_at,
            groups.c.resolved_in_release,
            groups.c.times_seen,
            groups.c.snooze_until,
            groups.c.snooze_times_seen,
            groups.c.snooze_user_count,
        )
        .where(groups.c.id.in_(group_ids))
        .with_for_update()
    ).all()
    states = {
        r.id: IssueState(IssueStatus(r.status), r.resolved_at, r.resolved_in_release) for r in rows
    }
    snoozes = {
        r.id: _Snooze(
            IssueStatus(r.status),
            r.times_seen,
            r.snooze_until,
            r.snooze_times_seen,
            r.snooze_user_count,
        )
        for r in rows
    }
    return states, snoozes


def _release_first_seen(
    conn: Connection, states: dict[int, IssueState], deltas: dict[int, _GroupDelta]
) -> dict[str, float]:
    projects_needing = {
        deltas[gid].project_id
        for gid, state in states.items()
        if state.status == IssueStatus.RESOLVED_IN_NEXT_RELEASE
    }
    if not projects_needing:
        return {}
    rows = conn.execute(
        select(releases.c.version, releases.c.first_seen).where(
            releases.c.project_id.in_(sorted(projects_needing))
        )
    )
    return {r.version: r.first_seen for r in rows}


def _update_group(
    conn: Connection,
    group_id: int,
    delta: _GroupDelta,
    state: IssueState,
    first_seen_of_release: dict[str, float],
    snooze: _Snooze,
    now: float,
) -> tuple[bool, bool]:
    ordered = sorted(delta.events, key=lambda e: float(e.event["timestamp"]))
    latest = ordered[-1]
    values: dict[str, Any] = {
        "times_seen": groups.c.times_seen + len(ordered),
        "last_seen": greatest(conn, groups.c.last_seen, float(latest.event["timestamp"])),
        "first_seen": least(conn, groups.c.first_seen, float(ordered[0].event["timestamp"])),
        "level": latest.summary.level,
    }
    latest_release = next(
        (e.event["release"] for e in reversed(ordered) if e.event.get("release")), None
    )
    if latest_release is not None:
        values["last_release"] = latest_release
    regressed = any(
        regresses(state, float(e.event["timestamp"]), e.event.get("release"), first_seen_of_release)
        for e in ordered
    )
    if regressed:
        values.update(
            status=IssueStatus.UNRESOLVED.value,
            substatus="regressed",
            resolved_at=None,
            resolved_in_release=None,
        )
    escalated = _snooze_ran_out(snooze, len(ordered), now)
    if escalated:
        values.update(UNSNOOZED)
    conn.execute(update(groups).where(groups.c.id == group_id).values(**values))
    return regressed, escalated


def _snooze_ran_out(snooze: _Snooze, new_events: int, now: float) -> bool:
    """An ignored issue with a date or an event count to wait for has reached it."""
    if snooze.status != IssueStatus.IGNORED:
        return False
    if snooze.until is not None and now >= snooze.until:
        return True
    target = snooze.times_seen_target
    return target is not None and snooze.times_seen + new_events >= target

"""Writes the worker's results: events, issues (groups) and their counters, outcomes.

Everything for one batch happens in the caller's transaction, the same one that removes the
batch from the spool, so a crash either keeps both or neither. Events are deduplicated by
(project, event_id): at-least-once delivery from the spool becomes exactly-once storage.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, func, select, update

from vedette.domain.events import Event, Grouping, IssueStatus, IssueSummary
from vedette.domain.processed import ProcessedEnvelope, ProcessedEvent
from vedette.domain.regressions import IssueState, regresses
from vedette.storage import feedback, health, issue_activity, logs, monitors, performance, profiles
from vedette.storage.batch_keys import by_project
from vedette.storage.codec import pack
from vedette.storage.dialect import greatest, insert_ignore, least, upsert_add
from vedette.storage.schema import (
    attachments,
    events,
    group_hashes,
    group_tag_values,
    group_users,
    groups,
    outcomes,
    projects,
    releases,
)
from vedette.storage.user_identities import identity_tags

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IssueOutcome:
    """What one batch did to one issue: what alert rules look at (they consume stored results)."""

    project_id: int
    group_id: int
    new: bool
    regressed: bool  # a resolved issue came back
    escalated: bool  # an ignored issue's snooze ran out
    events: int
    latest: Event  # the newest event of the batch for this issue
    monitor_failure: str | None = None  # a cron monitor's issue: error | missed | timeout


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


def store_processed(
    conn: Connection, batch: Sequence[tuple[int, ProcessedEnvelope]], now: float | None = None
) -> list[IssueOutcome]:
    """Store a batch; return what happened to each issue it touched."""
    now = time.time() if now is None else now
    errors = [(pid, e) for pid, env in batch for e in env.errors]
    transactions = [(pid, t) for pid, env in batch for t in env.transactions]
    seen = _existing_event_ids(
        conn,
        [(pid, e.event["event_id"]) for pid, e in errors]
        + [(pid, t["event_id"]) for pid, t in transactions],
    )
    fresh_errors = _unseen(errors, seen, lambda e: str(e.event["event_id"]))
    fresh_transactions = _unseen(transactions, seen, lambda t: str(t["event_id"]))

    _upsert_releases(conn, [(pid, e.event) for pid, e in fresh_errors] + fresh_transactions)
    outcomes = _store_issue_events(conn, fresh_errors, now)
    _insert_events(conn, [], fresh_transactions, {})
    _insert_attachments(conn, batch)
    _add_outcomes(conn, batch, now)
    # Performance, release health and cron monitors (each deduplicates on its own keys).
    performance.store_performance(conn, batch)
    logs.store_logs(conn, batch)
    feedback.store_feedback(conn, batch)
    profiles.store_profiles(conn, batch)
    health.store_sessions(conn, batch, now)
    failures = monitors.store_check_ins(conn, batch)
    return outcomes + store_monitor_failures(conn, failures, now)


def store_monitor_failures(
    conn: Connection, failures: list[monitors.MonitorFailure], now: float
) -> list[IssueOutcome]:
    """Each failed, missed or timed-out check-in is an event of its monitor's issue."""
    occurrences = [(f.project_id, monitor_failure_event(f)) for f in failures]
    seen = _existing_event_ids(conn, [(pid, e.event["event_id"]) for pid, e in occurrences])
    fresh = _unseen(occurrences, seen, lambda e: str(e.event["event_id"]))
    status_of = {
        event.event["event_id"]: f.status
        for f, (_, event) in zip(failures, occurrences, strict=True)
    }
    return [
        replace(o, monitor_failure=status_of[o.latest["event_id"]])
        for o in _store_issue_events(conn, fresh, now)
    ]


_FAILURE_WORDS = {"error": "failed", "missed": "missed a check-in", "timeout": "timed out"}


def monitor_failure_event(failure: monitors.MonitorFailure) -> ProcessedEvent:
    """The event standing for one monitor failure; one issue per monitor, as in Sentry."""
    words = _FAILURE_WORDS.get(failure.status, failure.status)
    tags = [["monitor.slug", failure.slug], ["monitor.status", failure.status]]
    if failure.environment:
        tags.append(["environment", failure.environment])
    if failure.release:
        tags.append(["release", failure.release])
    event: Event = {
        "event_id": uuid.uuid5(uuid.NAMESPACE_URL, f"vedette-monitor:{failure.key}").hex,
        "timestamp": failure.at,
        "received": failure.at,
        "level": "error",
        "platform": "other",
        "type": "default",
        "logger": "monitors",
        "environment": failure.environment,
        "release": failure.release,
        "logentry": {"formatted": f"Cron monitor {failure.slug} {words}"},
        "tags": tags,
        "contexts": {"monitor": {"id": failure.monitor_id, "slug": failure.slug}},
    }
    summary = IssueSummary(
        title=f"Cron failure: {failure.slug}",
        culprit=failure.slug,
        level="error",
        type="default",
        metadata={"title": f"Cron failure: {failure.slug}", "monitor": failure.slug},
    )
    return ProcessedEvent(event, Grouping("monitor", (f"monitor:{failure.monitor_id}",)), summary)


def _store_issue_events(
    conn: Connection, fresh_errors: list[tuple[int, ProcessedEvent]], now: float
) -> list[IssueOutcome]:
    group_of, created = _assign_groups(conn, fresh_errors)
    changed = _apply_group_deltas(conn, fresh_errors, group_of, now)
    _insert_events(conn, fresh_errors, [], group_of)
    stored = _outcomes(fresh_errors, group_of, created, changed)
    issue_activity.record_stored(conn, stored, now)  # first seen, regressions
    return stored


def _outcomes(
    fresh_errors: list[tuple[int, ProcessedEvent]],
    group_of: dict[int, int],
    created: set[int],
    changed: dict[int, tuple[bool, bool]],
) -> list[IssueOutcome]:
    counts: dict[int, int] = defaultdict(int)
    newest: dict[int, tuple[int, Event]] = {}
    for index, (pid, processed) in enumerate(fresh_errors):
        group_id, event = group_of[index], processed.event
        counts[group_id] += 1
        seen = newest.get(group_id)
        if seen is None or float(event["timestamp"]) >= float(seen[1]["timestamp"]):
            newest[group_id] = (pid, event)
    return [
        IssueOutcome(
            project_id=pid,
            group_id=group_id,
            new=group_id in created,
            regressed=changed.get(group_id, (False, False))[0],
            escalated=changed.get(group_id, (False, False))[1],
            events=counts[group_id],
            latest=event,
        )
        for group_id, (pid, event) in sorted(newest.items())
    ]


def _unseen(
    rows: list[tuple[int, T]], seen: set[tuple[int, str]], event_id: Callable[[T], str]
) -> list[tuple[int, T]]:
    fresh: list[tuple[int, T]] = []
    for pid, row in rows:
        key = (pid, event_id(row))
        if key not in seen:
            seen.add(key)  # a duplicate later in the same batch is dropped too
            fresh.append((pid, row))
    return fresh


def _existing_event_ids(conn: Connection, keys: list[tuple[int, str]]) -> set[tuple[int, str]]:
    found: set[tuple[int, str]] = set()
    for project_id, event_ids in by_project(keys).items():
        rows = conn.execute(
            select(events.c.event_id).where(
                events.c.project_id == project_id, events.c.event_id.in_(event_ids)
            )
        )
        found.update((project_id, event_id) for (event_id,) in rows)
    return found


def _upsert_releases(conn: Connection, stored: list[tuple[int, Event]]) -> None:
    seen: dict[tuple[int, str], list[float]] = {}
    for pid, event in stored:
        release = event.get("release")
        if isinstance(release, str) and release:
            ts = float(event["timestamp"])
            bounds = seen.setdefault((pid, release), [ts, ts])
            bounds[0], bounds[1] = min(bounds[0], ts), max(bounds[1], ts)
    if not seen:
        return
    conn.execute(
        upsert_add(
            conn,
            releases,
            key=("project_id", "version"),
            add=(),
            greatest_of=("last_seen",),
            least_of=("first_seen",),
        ),
        [
            {"project_id": pid, "version": v, "first_seen": lo, "last_seen": hi}
            for (pid, v), (lo, hi) in sorted(seen.items())
        ],
    )


def _assign_groups(
    conn: Connection, fresh_errors: list[tuple[int, ProcessedEvent]]
) -> tuple[dict[int, int], set[int]]:
    """Map each event (by position in ``fresh_errors``) to its group, creating new groups;
    also return the ids of the groups created."""
    wanted = {(pid, h) for pid, e in fresh_errors for h in e.grouping.hashes}
    owner: dict[tuple[int, str], int] = {}
    for project_id, hashes in by_project(wanted).items():
        rows = conn.execute(
            select(group_hashes.c.hash, group_hashes.c.group_id).where(
                group_hashes.c.project_id == project_id, group_hashes.c.hash.in_(hashes)
            )
        )
        owner.update(((project_id, r.hash), r.group_id) for r in rows)
    group_of: dict[int, int] = {}
    created: set[int] = set()
    for index, (pid, processed) in enumerate(fresh_errors):
        keys = [(pid, h) for h in processed.grouping.hashes]
        strategy = processed.grouping.strategy
        group_id = next((owner[k] for k in keys if k in owner), None)
        if group_id is None:
            group_id = _create_group(conn, pid, processed)
            if not _claim_hashes(conn, keys, strategy, group_id):
                # Another process created this issue between our lookup and our insert (the
                # insert waited for its commit): use that issue and drop ours.
                conn.execute(delete(groups).where(groups.c.id == group_id))
                group_id = _owner_of(conn, keys[0])
            else:
                created.add(group_id)
        else:
            missing = [k for k in keys if k not in owner]
            if missing:
                _claim_hashes(conn, missing, strategy, group_id)
        owner.update(dict.fromkeys(keys, group_id))
        group_of[index] = group_id
    return group_of, created


def _claim_hashes(
    conn: Connection, keys: list[tuple[int, str]], strategy: str, group_id: int
) -> bool:
    """Give unowned hashes to the group; False if every one of them was already taken."""
    inserted = conn.execute(
        insert_ignore(conn, group_hashes).returning(group_hashes.c.hash),
        [{"project_id": p, "hash": h, "strategy": strategy, "group_id": group_id} for p, h in keys],
    ).all()
    return bool(inserted)


def _owner_of(conn: Connection, key: tuple[int, str]) -> int:
    return int(
        conn.execute(
            select(group_hashes.c.group_id).where(
                group_hashes.c.project_id == key[0], group_hashes.c.hash == key[1]
            )
        ).scalar_one()
    )


def next_short_id(conn: Connection, project_id: int) -> int:
    """The project's next issue number (its short id, SHOP-12)."""
    return int(
        conn.execute(
            update(projects)
            .where(projects.c.id == project_id)
            .values(next_short_id=projects.c.next_short_id + 1)
            .returning(projects.c.next_short_id)
        ).scalar_one()
    )


def _create_group(conn: Connection, project_id: int, processed: ProcessedEvent) -> int:
    short_id = next_short_id(conn, project_id)
    event, summary = processed.event, processed.summary
    ts = float(event["timestamp"])
    release = event.get("release")
    return int(
        conn.execute(
            groups.insert()
            .values(
                project_id=project_id,
                short_id=short_id,
                title=summary.title,
                culprit=summary.culprit,
                level=summary.level,
                type=summary.type,
                metadata=summary.metadata,
                platform=str(event.get("platform") or "other"),
                status=IssueStatus.UNRESOLVED.value,
                substatus="new",
                first_seen=ts,
                last_seen=ts,
                times_seen=0,
                first_release=release,
                last_release=release,
                grouping_strategy=processed.grouping.strategy,
            )
            .returning(groups.c.id)
        ).scalar_one()
    )


def event_tags(event: Event) -> list[tuple[str, str]]:
    """The event's tags, and its user's identities for search (user_identities.py)."""
    pairs = event.get("tags") or []
    return [*((str(k), str(v)) for k, v in pairs), *identity_tags(event)]


def _apply_group_deltas(
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
        conn.execute(update(groups).where(groups.c.id == group_id).values(**_UNSNOOZED))
    return reached


_UNSNOOZED: dict[str, Any] = {
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
        values.update(_UNSNOOZED)
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


def _insert_events(
    conn: Connection,
    fresh_errors: list[tuple[int, ProcessedEvent]],
    fresh_transactions: list[tuple[int, Event]],
    group_of: dict[int, int],
) -> None:
    rows = [
        _event_row(
            pid, e.event, group_of[i], e.summary.title, e.summary.level, e.grouping.hashes[0]
        )
        for i, (pid, e) in enumerate(fresh_errors)
    ]
    rows += [
        _event_row(pid, t, None, str(t.get("transaction") or "<unlabeled transaction>"), None)
        for pid, t in fresh_transactions
    ]
    if rows:
        conn.execute(insert_ignore(conn, events), rows)


def _event_row(
    project_id: int,
    event: Event,
    group_id: int | None,
    title: str,
    level: str | None,
    grouping_hash: str | None = None,
) -> dict[str, Any]:
    """``grouping_hash``: an error's primary hash, which its issue owns once it is grouped
    (``_assign_groups``); unmerge splits an issue by it (storage/unmerge.py)."""
    trace = (event.get("contexts") or {}).get("trace") or {}
    trace_id = trace.get("trace_id") if isinstance(trace, dict) else None
    return {
        "project_id": project_id,
        "event_id": event["event_id"],
        "group_id": group_id,
        "type": str(event.get("type") or "error"),
        "timestamp": float(event["timestamp"]),
        "received": float(event.get("received") or event["timestamp"]),
        "level": level,
        "release": event.get("release"),
        "environment": event.get("environment"),
        "transaction": event.get("transaction"),
        "trace_id": trace_id if isinstance(trace_id, str) else None,
        "title": title,
        "data": pack(event),
        "grouping_hash": grouping_hash,
    }


def _insert_attachments(conn: Connection, batch: Sequence[tuple[int, ProcessedEnvelope]]) -> None:
    rows = [
        {
            "project_id": pid,
            "event_id": a.event_id,
            "name": a.name,
            "content_type": a.content_type,
            "attachment_type": a.attachment_type,
            "size": len(a.data),
            "data": a.data,
        }
        for pid, env in batch
        for a in env.attachments
    ]
    if rows:
        conn.execute(insert_ignore(conn, attachments), rows)


def _add_outcomes(
    conn: Connection, batch: Sequence[tuple[int, ProcessedEnvelope]], now: float
) -> None:
    totals: dict[tuple[int, str, str, str], int] = defaultdict(int)
    for pid, env in batch:
        for o in env.outcomes:
            totals[(pid, o.category, o.outcome, o.reason)] += o.quantity
    if not totals:
        return
    hour = int(now // 3600)
    conn.execute(
        upsert_add(
            conn,
            outcomes,
            key=("project_id", "hour", "category", "outcome", "reason"),
            add=("quantity",),
        ),
        [
            {
                "project_id": pid,
                "hour": hour,
                "category": c,
                "outcome": o,
                "reason": r,
                "quantity": q,
            }
            for (pid, c, o, r), q in sorted(totals.items())
        ],
    )

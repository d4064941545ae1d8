"""Writes the worker's results for one batch: events, issues, outcomes, and each other item
type through its own storage module.

Everything for one batch happens in the caller's transaction, the same one that removes the
batch from the spool, so a crash either keeps both or neither. Events are deduplicated by
(project, event_id): at-least-once delivery from the spool becomes exactly-once storage.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from sqlalchemy import Connection, select

from vedette.domain.events import Event, Grouping, IssueSummary
from vedette.domain.processed import ProcessedEnvelope, ProcessedEvent
from vedette.storage import feedback, health, issue_activity, logs, monitors, performance, profiles
from vedette.storage.batch_keys import by_project
from vedette.storage.dialect import insert_ignore, upsert_add
from vedette.storage.event_rows import insert_events, upsert_releases
from vedette.storage.issue_assignment import assign_issues
from vedette.storage.issue_counters import apply_issue_deltas
from vedette.storage.schema import attachments, events, outcomes

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
    # Every event of the batch for this issue, oldest first: a rule's filter judges each one.
    batch: tuple[Event, ...] = ()

    def batch_events(self) -> tuple[Event, ...]:
        return self.batch or (self.latest,)


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

    upsert_releases(conn, [(pid, e.event) for pid, e in fresh_errors] + fresh_transactions)
    outcomes = _store_issue_events(conn, fresh_errors, now)
    insert_events(conn, [], fresh_transactions, {})
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
    group_of, created = assign_issues(conn, fresh_errors)
    changed = apply_issue_deltas(conn, fresh_errors, group_of, now)
    insert_events(conn, fresh_errors, [], group_of)
    stored = _outcomes(fresh_errors, group_of, created, changed)
    issue_activity.record_stored(conn, stored, now)  # first seen, regressions
    return stored


def _outcomes(
    fresh_errors: list[tuple[int, ProcessedEvent]],
    group_of: dict[int, int],
    created: set[int],
    changed: dict[int, tuple[bool, bool]],
) -> list[IssueOutcome]:
    by_issue: dict[int, tuple[int, list[Event]]] = {}
    for index, (pid, processed) in enumerate(fresh_errors):
        by_issue.setdefault(group_of[index], (pid, []))[1].append(processed.event)
    outcomes = []
    for group_id, (pid, found) in sorted(by_issue.items()):
        ordered = sorted(found, key=lambda e: float(e["timestamp"]))  # stable: ties keep order
        outcomes.append(
            IssueOutcome(
                project_id=pid,
                group_id=group_id,
                new=group_id in created,
                regressed=changed.get(group_id, (False, False))[0],
                escalated=changed.get(group_id, (False, False))[1],
                events=len(found),
                latest=ordered[-1],
                batch=tuple(ordered),
            )
        )
    return outcomes


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

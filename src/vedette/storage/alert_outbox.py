"""What fired and what must be sent: firings, the notification outbox, delivery attempts.

Notifications are inserted in the transaction that stored what triggered them, so a crash keeps
both or neither. The dispatcher leases due rows (``claim``) before sending and records each
attempt; a lease that runs out (the process died mid-send) makes the row due again, so delivery
is at least once and receivers de-duplicate by ``uid``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, tuple_, update

from vedette.storage.dialect import insert_ignore
from vedette.storage.schema import (
    alert_firings,
    alert_open_incidents,
    alert_suppression_summaries,
    groups,
    notification_attempts,
    notifications,
)

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True, slots=True)
class NewNotification:
    uid: str
    project_id: int | None  # None: an account email
    rule_id: int | None
    action_id: int | None
    group_id: int | None
    target: str  # "slack:https://..."
    secret: str | None
    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    uid: str
    target: str
    secret: str | None
    message: dict[str, Any]
    attempts: int
    created_at: float


@dataclass(frozen=True, slots=True)
class Attempt:
    attempted_at: float
    status_code: int | None
    error: str | None
    duration: float


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    uid: str
    target: str
    kind: str  # message kind: issue | metric | digest | suppressed | test
    title: str
    status: str
    created_at: float
    finished_at: float | None
    last_error: str | None
    attempts: list[Attempt]


def enqueue(conn: Connection, items: Sequence[NewNotification], now: float) -> None:
    if not items:
        return
    conn.execute(
        insert(notifications),
        [
            {
                "uid": n.uid,
                "project_id": n.project_id,
                "rule_id": n.rule_id,
                "action_id": n.action_id,
                "group_id": n.group_id,
                "kind": n.target.partition(":")[0],
                "address": n.target.partition(":")[2],
                "secret": n.secret,
                "message": n.message,
                "status": PENDING,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for n in items
        ],
    )


def claim(
    conn: Connection, owner: str, now: float, lease_seconds: float, limit: int
) -> list[OutboxRow]:
    """Lease up to ``limit`` due notifications to ``owner``. The conditional UPDATE re-checks the
    lease under the row lock, so two nodes racing for one row cannot both win it."""
    due = [
        r.id
        for r in conn.execute(
            select(notifications.c.id)
            .where(
                notifications.c.status == PENDING,
                notifications.c.next_attempt_at <= now,
                or_(notifications.c.lease_until.is_(None), notifications.c.lease_until < now),
            )
            .order_by(notifications.c.next_attempt_at, notifications.c.id)
            .limit(limit)
        )
    ]
    if not due:
        return []
    won = conn.execute(
        update(notifications)
        .where(
            notifications.c.id.in_(due),
            notifications.c.status == PENDING,
            or_(notifications.c.lease_until.is_(None), notifications.c.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + lease_seconds)
        .returning(
            notifications.c.id,
            notifications.c.uid,
            notifications.c.kind,
            notifications.c.address,
            notifications.c.secret,
            notifications.c.message,
            notifications.c.attempts,
            notifications.c.created_at,
        )
    ).all()
    return sorted(
        (
            OutboxRow(
                r.id, r.uid, f"{r.kind}:{r.address}", r.secret, r.message, r.attempts, r.created_at
            )
            for r in won
        ),
        key=lambda row: row.id,
    )


def record_attempt(
    conn: Connection,
    notification_id: int,
    owner: str,
    attempt: Attempt,
    *,
    status: str,
    next_attempt_at: float | None = None,
) -> bool:
    """Record one attempt and the row's new state; False (nothing written) if the lease was lost
    meanwhile (another node owns the row now)."""
    values: dict[str, Any] = {
        "status": status,
        "attempts": notifications.c.attempts + 1,
        "lease_owner": None,
        "lease_until": None,
        "last_error": attempt.error,
    }
    if status == PENDING:
        values["next_attempt_at"] = next_attempt_at
    else:
        values["finished_at"] = attempt.attempted_at
    updated = conn.execute(
        update(notifications)
        .where(notifications.c.id == notification_id, notifications.c.lease_owner == owner)
        .values(**values)
    ).rowcount
    if not updated:
        return False
    if status != PENDING:
        _forget_account_link(conn, notification_id)
    conn.execute(
        insert(notification_attempts).values(
            notification_id=notification_id,
            attempted_at=attempt.attempted_at,
            status_code=attempt.status_code,
            error=attempt.error,
            duration=attempt.duration,
        )
    )
    return True


def _forget_account_link(conn: Connection, notification_id: int) -> None:
    """An account email's link (an invitation, a password reset: no project) is a secret: once
    the email is delivered or given up on, the outbox keeps the message without it."""
    row = conn.execute(
        select(notifications.c.message).where(
            notifications.c.id == notification_id, notifications.c.project_id.is_(None)
        )
    ).one_or_none()
    if row is not None:
        conn.execute(
            update(notifications)
            .where(notifications.c.id == notification_id)
            .values(message={**row.message, "url": ""})
        )


def release_leases(conn: Connection) -> None:
    """Make every leased notification due again (a process that died held them)."""
    conn.execute(
        update(notifications)
        .where(notifications.c.lease_owner.is_not(None), notifications.c.status == PENDING)
        .values(lease_owner=None, lease_until=None)
    )


def deliveries(conn: Connection, rule_id: int, limit: int = 50) -> list[DeliveryRow]:
    rows = conn.execute(
        select(notifications)
        .where(notifications.c.rule_id == rule_id)
        .order_by(notifications.c.id.desc())
        .limit(limit)
    ).all()
    attempts: dict[int, list[Attempt]] = {r.id: [] for r in rows}
    if rows:
        for a in conn.execute(
            select(notification_attempts)
            .where(notification_attempts.c.notification_id.in_(list(attempts)))
            .order_by(notification_attempts.c.id)
        ):
            attempts[a.notification_id].append(
                Attempt(a.attempted_at, a.status_code, a.error, a.duration)
            )
    return [
        DeliveryRow(
            id=r.id,
            uid=r.uid,
            target=f"{r.kind}:{r.address}",
            kind=str(r.message.get("kind", "")),
            title=str(r.message.get("title", "")),
            status=r.status,
            created_at=r.created_at,
            finished_at=r.finished_at,
            last_error=r.last_error,
            attempts=attempts[r.id],
        )
        for r in rows
    ]


# -- firings -----------------------------------------------------------------------------------


def record_firings(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Firings as ``alert_firings`` rows (rule_id, project_id, group_id, event_id, fired_at,
    delivery, message)."""
    if rows:
        conn.execute(insert(alert_firings), rows)


def last_firings(
    conn: Connection, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], float]:
    """(rule id, group id) -> when the rule last fired for the issue."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    rows = conn.execute(
        select(
            alert_firings.c.rule_id, alert_firings.c.group_id, func.max(alert_firings.c.fired_at)
        )
        .where(tuple_(alert_firings.c.rule_id, alert_firings.c.group_id).in_(wanted))
        .group_by(alert_firings.c.rule_id, alert_firings.c.group_id)
    ).all()
    return {(r[0], r[1]): float(r[2]) for r in rows}


def fired_for_events(
    conn: Connection, rule_ids: Iterable[int], event_ids: Iterable[str]
) -> set[tuple[int, str]]:
    """(rule id, event id) pairs among these for which the rule has fired already."""
    rules, ids = sorted(set(rule_ids)), sorted(set(event_ids))
    if not rules or not ids:
        return set()
    rows = conn.execute(
        select(alert_firings.c.rule_id, alert_firings.c.event_id).where(
            alert_firings.c.rule_id.in_(rules), alert_firings.c.event_id.in_(ids)
        )
    )
    return {(r[0], r[1]) for r in rows}


def sent_since(conn: Connection, project_id: int, since: float) -> int:
    """Firings of the project since ``since`` that were (or will be) sent: the hourly cap."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(alert_firings)
            .where(
                alert_firings.c.project_id == project_id,
                alert_firings.c.fired_at >= since,
                alert_firings.c.delivery != "suppressed",
            )
        ).scalar_one()
    )


def waiting_for_digest(conn: Connection, rule_id: int) -> list[tuple[int, dict[str, Any]]]:
    rows = conn.execute(
        select(alert_firings.c.id, alert_firings.c.message)
        .where(alert_firings.c.delivery == "digest", alert_firings.c.rule_id == rule_id)
        .order_by(alert_firings.c.id)
    )
    return [(r.id, r.message) for r in rows]


def mark_digested(conn: Connection, firing_ids: list[int]) -> None:
    conn.execute(
        update(alert_firings).where(alert_firings.c.id.in_(firing_ids)).values(delivery="digested")
    )


def suppressed_hours(conn: Connection, before: float) -> list[tuple[int, int, int, list[int]]]:
    """(project, hour, suppressed count, rule ids) for ended hours not yet summed up."""
    hour = func.floor(alert_firings.c.fired_at / 3600)
    summarised = select(alert_suppression_summaries.c.project_id).where(
        alert_suppression_summaries.c.project_id == alert_firings.c.project_id,
        alert_suppression_summaries.c.hour == hour,
    )
    rows = conn.execute(
        select(
            alert_firings.c.project_id, hour.label("hour"), alert_firings.c.rule_id, func.count()
        )
        .where(
            alert_firings.c.delivery == "suppressed",
            alert_firings.c.fired_at < before,
            ~summarised.exists(),
        )
        .group_by(alert_firings.c.project_id, hour, alert_firings.c.rule_id)
    ).all()
    totals: dict[tuple[int, int], tuple[int, list[int]]] = {}
    for project_id, h, rule_id, count in rows:
        total, rules = totals.get((project_id, int(h)), (0, []))
        totals[(project_id, int(h))] = (total + int(count), [*rules, rule_id])
    return [(p, h, n, sorted(r)) for (p, h), (n, r) in sorted(totals.items())]


def claim_summary(conn: Connection, project_id: int, hour: int) -> bool:
    """True once per (project, hour): the caller sends its "N more suppressed" message."""
    inserted = conn.execute(
        insert_ignore(conn, alert_suppression_summaries).returning(
            alert_suppression_summaries.c.hour
        ),
        [{"project_id": project_id, "hour": hour}],
    ).all()
    return bool(inserted)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    group_id: int
    count: int
    last_triggered: float
    event_id: str | None


def group_history(conn: Connection, rule_id: int, since: float) -> list[HistoryRow]:
    """Which issues fired the rule since ``since``: how often, and when last."""
    rows = conn.execute(
        select(
            alert_firings.c.group_id,
            func.count(),
            func.max(alert_firings.c.fired_at),
            func.max(alert_firings.c.event_id),
        )
        .where(
            alert_firings.c.rule_id == rule_id,
            alert_firings.c.group_id.is_not(None),
            alert_firings.c.fired_at >= since,
        )
        .group_by(alert_firings.c.group_id)
        .order_by(func.count().desc(), alert_firings.c.group_id)
    ).all()
    return [HistoryRow(int(r[0]), int(r[1]), float(r[2]), r[3]) for r in rows]


# -- incidents opened in PagerDuty, resolved with their issue -----------------------------------


def open_incidents(conn: Connection, rows: Iterable[tuple[int, int, int]]) -> None:
    """Remember (action id, group id, rule id) incidents a trigger opened."""
    values = [{"action_id": a, "group_id": g, "rule_id": r} for a, g, r in rows]
    if values:
        conn.execute(insert_ignore(conn, alert_open_incidents), values)


def take_resolved_incidents(conn: Connection) -> list[tuple[int, int, int]]:
    """Remove and return open incidents whose issue is resolved now: (action, group, rule).
    The DELETE is the claim: of two nodes, only one gets each row."""
    resolved = select(groups.c.id).where(groups.c.status.in_(["resolved", "resolvedInNextRelease"]))
    rows = conn.execute(
        alert_open_incidents.delete()
        .where(alert_open_incidents.c.group_id.in_(resolved))
        .returning(
            alert_open_incidents.c.action_id,
            alert_open_incidents.c.group_id,
            alert_open_incidents.c.rule_id,
        )
    ).all()
    return sorted((r[0], r[1], r[2]) for r in rows)

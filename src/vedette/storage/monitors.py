"""Cron monitors: check-ins as they arrive, and the scheduler's missed / timed-out marks.

A monitor's status is the status of its latest check-in (by id: missed check-ins are written
when the scheduler notices them); ``active`` before the first one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, desc, func, select, update

from vedette.domain import monitors as domain
from vedette.domain.monitors import CheckIn, MonitorConfig, MonitorState, OpenCheckIn, Plan
from vedette.domain.processed import ProcessedEnvelope
from vedette.domain.schedule import Schedule
from vedette.storage.dialect import insert_ignore
from vedette.storage.schema import monitor_checkins, monitors


def _guid(*parts: object) -> str:
    return hashlib.md5("\x00".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _schedule(row: Any) -> Schedule | None:
    if row.schedule_type is None or row.schedule_value is None:
        return None
    return Schedule(row.schedule_type, row.schedule_value, row.schedule_unit, row.timezone)


def _config_values(config: MonitorConfig) -> dict[str, Any]:
    return {
        "schedule_type": config.schedule.type,
        "schedule_value": config.schedule.value,
        "schedule_unit": config.schedule.unit,
        "timezone": config.schedule.timezone,
        "checkin_margin": config.checkin_margin,
        "max_runtime": config.max_runtime,
        "failure_issue_threshold": config.failure_issue_threshold,
        "recovery_threshold": config.recovery_threshold,
    }


def _monitor(conn: Connection, project_id: int, check_in: CheckIn) -> Any:
    """The monitor of the slug, created (or its config upserted) from the check-in, locked."""
    values: dict[str, Any] = {
        "project_id": project_id,
        "slug": check_in.slug,
        "timezone": "UTC",
        "checkin_margin": domain.DEFAULT_CHECKIN_MARGIN,
        "max_runtime": domain.DEFAULT_MAX_RUNTIME,
        "created_at": check_in.received,
    }
    if check_in.config is not None:
        values.update(_config_values(check_in.config))
    conn.execute(insert_ignore(conn, monitors), [values])
    row = conn.execute(
        select(monitors)
        .where(monitors.c.project_id == project_id, monitors.c.slug == check_in.slug)
        .with_for_update()
    ).one()
    if check_in.config is not None:
        changes = _config_values(check_in.config)
        if any(getattr(row, k) != v for k, v in changes.items()):
            schedule = check_in.config.schedule
            reference = row.last_checkin or check_in.received
            tick = schedule.next_tick(reference)
            changes["next_checkin"] = tick
            changes["next_checkin_latest"] = (
                None if tick is None else domain.latest_time(tick, check_in.config.checkin_margin)
            )
            conn.execute(update(monitors).where(monitors.c.id == row.id).values(**changes))
            row = conn.execute(select(monitors).where(monitors.c.id == row.id)).one()
    return row


@dataclass(frozen=True, slots=True)
class MonitorFailure:
    """A check-in that ended badly: ``error`` (the job said so), ``missed`` or ``timeout``.

    Each one is an occurrence of the monitor's issue, as in Sentry.
    """

    monitor_id: int
    project_id: int
    slug: str
    status: str
    at: float
    key: str  # unique per failure: retried storage writes the same occurrence once
    environment: str | None = None
    release: str | None = None


def store_check_ins(
    conn: Connection, batch: Sequence[tuple[int, ProcessedEnvelope]]
) -> list[MonitorFailure]:
    """Store check-ins; return those that ended in ``error``."""
    items = [(pid, c) for pid, env in batch for c in env.check_ins]
    failures: list[MonitorFailure] = []
    for pid, check_in in sorted(items, key=lambda pc: (pc[0], pc[1].slug, pc[1].received)):
        guid = _store_check_in(conn, pid, check_in)
        if guid is not None and check_in.status == "error":
            monitor = _monitor(conn, pid, check_in)
            failures.append(
                MonitorFailure(
                    monitor.id,
                    pid,
                    monitor.slug,
                    "error",
                    check_in.received,
                    guid,
                    check_in.environment,
                    check_in.release,
                )
            )
    return failures


def failures_of(conn: Connection, plan: Plan, now: float) -> list[MonitorFailure]:
    """The scheduler's missed ticks and timed-out check-ins as failures."""
    ids = {m.monitor_id for m in plan.missed} | {t.monitor_id for t in plan.timed_out}
    if not ids:
        return []
    rows = conn.execute(
        select(monitors.c.id, monitors.c.project_id, monitors.c.slug).where(
            monitors.c.id.in_(sorted(ids))
        )
    ).all()
    of = {r.id: r for r in rows}
    missed = [
        MonitorFailure(
            m.monitor_id,
            of[m.monitor_id].project_id,
            of[m.monitor_id].slug,
            "missed",
            now,
            _guid("missed", m.monitor_id, m.expected),
        )
        for m in plan.missed
    ]
    timed_out = [
        MonitorFailure(
            t.monitor_id,
            of[t.monitor_id].project_id,
            of[t.monitor_id].slug,
            "timeout",
            now,
            _guid("timeout", t.check_in_id),
        )
        for t in plan.timed_out
    ]
    return missed + timed_out


def _store_check_in(conn: Connection, project_id: int, check_in: CheckIn) -> str | None:
    """Store one check-in; return the guid of the check-in it finished or created, if any."""
    monitor = _monitor(conn, project_id, check_in)
    c = monitor_checkins
    existing = None
    if check_in.check_in_id == domain.NIL_CHECK_IN_ID:
        existing = conn.execute(
            select(c)
            .where(c.c.monitor_id == monitor.id, c.c.status == "in_progress")
            .order_by(desc(c.c.date_added), desc(c.c.id))
            .limit(1)
        ).first()
    elif check_in.check_in_id is not None:
        existing = conn.execute(
            select(c).where(c.c.monitor_id == monitor.id, c.c.guid == check_in.check_in_id)
        ).first()
    if existing is not None:
        # Only an open check-in changes, and only to a finished status (Sentry drops the rest:
        # a job that reports ok after its timeout stays timed out).
        if existing.status == "in_progress" and check_in.status in domain.FINISHED:
            duration = check_in.duration_ms
            if duration is None:
                duration = max(0.0, (check_in.received - existing.date_added) * 1000.0)
            conn.execute(
                update(c)
                .where(c.c.id == existing.id)
                .values(
                    status=check_in.status,
                    duration=duration,
                    date_updated=check_in.received,
                    timeout_at=None,
                )
            )
            return str(existing.guid)
        return None
    guid = check_in.check_in_id
    if guid is None or guid == domain.NIL_CHECK_IN_ID:
        guid = _guid(monitor.id, check_in.received, check_in.status)
    in_progress = check_in.status == "in_progress"
    conn.execute(
        insert_ignore(conn, c),
        [
            {
                "monitor_id": monitor.id,
                "project_id": project_id,
                "guid": guid,
                "status": check_in.status,
                "date_added": check_in.received,
                "date_updated": check_in.received,
                "duration": None if in_progress else check_in.duration_ms,
                "expected_time": monitor.next_checkin,
                "timeout_at": check_in.received + max(1, monitor.max_runtime) * 60.0
                if in_progress
                else None,
                "environment": check_in.environment,
                "release": check_in.release,
                "trace_id": check_in.trace_id,
            }
        ],
    )
    schedule = _schedule(monitor)
    tick = schedule.next_tick(check_in.received) if schedule is not None else None
    conn.execute(
        update(monitors)
        .where(monitors.c.id == monitor.id)
        .values(
            last_checkin=check_in.received,
            next_checkin=tick,
            next_checkin_latest=None
            if tick is None
            else domain.latest_time(tick, monitor.checkin_margin),
        )
    )
    return guid


def run_scheduler(conn: Connection, now: float) -> Plan:
    """Mark missed ticks and timed-out check-ins as of ``now`` (the periodic job's body)."""
    due = conn.execute(
        select(monitors)
        .where(monitors.c.next_checkin_latest <= now)
        .order_by(monitors.c.id)
        .with_for_update()
    ).all()
    c = monitor_checkins
    open_rows = conn.execute(
        select(c.c.id, c.c.monitor_id, c.c.date_added, monitors.c.max_runtime)
        .join(monitors, monitors.c.id == c.c.monitor_id)
        .where(c.c.timeout_at <= now, c.c.status == "in_progress")
        .order_by(c.c.id)
        .with_for_update(of=c)
    ).all()
    plan = domain.plan(
        [MonitorState(m.id, _schedule(m), m.checkin_margin, m.next_checkin) for m in due],
        [OpenCheckIn(r.id, r.monitor_id, r.date_added, r.max_runtime) for r in open_rows],
        now,
    )
    project_of = {m.id: m.project_id for m in due}
    margin_of = {m.id: m.checkin_margin for m in due}
    if plan.missed:
        conn.execute(
            insert_ignore(conn, c),
            [
                {
                    "monitor_id": m.monitor_id,
                    "project_id": project_of[m.monitor_id],
                    "guid": _guid("missed", m.monitor_id, m.expected),
                    "status": "missed",
                    "date_added": domain.latest_time(m.expected, margin_of[m.monitor_id]),
                    "date_updated": now,
                    "duration": None,
                    "expected_time": m.expected,
                    "timeout_at": None,
                    "environment": None,
                    "release": None,
                    "trace_id": None,
                }
                for m in plan.missed
            ],
        )
    for timed_out in plan.timed_out:
        conn.execute(
            update(c)
            .where(c.c.id == timed_out.check_in_id)
            .values(status="timeout", timeout_at=None, date_updated=now)
        )
    for advance in plan.advances:
        tick = advance.next_checkin
        conn.execute(
            update(monitors)
            .where(monitors.c.id == advance.monitor_id)
            .values(
                next_checkin=tick,
                next_checkin_latest=None
                if tick is None
                else domain.latest_time(tick, margin_of[advance.monitor_id]),
            )
        )
    return plan


@dataclass(frozen=True, slots=True)
class CheckInRow:
    id: int
    guid: str
    status: str
    date_added: float
    date_updated: float
    duration_ms: float | None
    expected_time: float | None
    environment: str | None
    release: str | None
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class MonitorRow:
    id: int
    slug: str
    schedule: Schedule | None
    checkin_margin: int
    max_runtime: int
    failure_issue_threshold: int | None
    recovery_threshold: int | None
    created_at: float
    last_checkin: float | None
    next_checkin: float | None
    next_checkin_latest: float | None
    latest: CheckInRow | None

    @property
    def status(self) -> str:
        return "active" if self.latest is None else self.latest.status


def _check_in_row(row: Any) -> CheckInRow:
    return CheckInRow(
        id=row.id,
        guid=row.guid,
        status=row.status,
        date_added=row.date_added,
        date_updated=row.date_updated,
        duration_ms=row.duration,
        expected_time=row.expected_time,
        environment=row.environment,
        release=row.release,
        trace_id=row.trace_id,
    )


def list_monitors(conn: Connection, project_id: int, slug: str | None = None) -> list[MonitorRow]:
    c = monitor_checkins
    where = [monitors.c.project_id == project_id]
    if slug is not None:
        where.append(monitors.c.slug == slug)
    rows = conn.execute(select(monitors).where(*where).order_by(monitors.c.slug)).all()
    latest_ids = (
        select(func.max(c.c.id))
        .where(c.c.monitor_id.in_([r.id for r in rows]))
        .group_by(c.c.monitor_id)
    )
    latest = {
        r.monitor_id: _check_in_row(r)
        for r in conn.execute(select(c).where(c.c.id.in_(latest_ids)))
    }
    return [
        MonitorRow(
            id=r.id,
            slug=r.slug,
            schedule=_schedule(r),
            checkin_margin=r.checkin_margin,
            max_runtime=r.max_runtime,
            failure_issue_threshold=r.failure_issue_threshold,
            recovery_threshold=r.recovery_threshold,
            created_at=r.created_at,
            last_checkin=r.last_checkin,
            next_checkin=r.next_checkin,
            next_checkin_latest=r.next_checkin_latest,
            latest=latest.get(r.id),
        )
        for r in rows
    ]


def monitor_check_ins(conn: Connection, monitor_id: int, limit: int = 50) -> list[CheckInRow]:
    c = monitor_checkins
    rows = conn.execute(
        select(c).where(c.c.monitor_id == monitor_id).order_by(desc(c.c.id)).limit(limit)
    )
    return [_check_in_row(r) for r in rows]

"""Uptime monitors: their configuration, the scheduler's claims, check results and roll-ups.

Several nodes may run checks against one PostgreSQL database: a node claims a due monitor by
moving its ``next_check_at`` to the next run with a compare-and-set, in a short transaction,
so exactly one node wins each run and nobody holds a lock while the request is in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from vedette.storage.database import Database
from vedette.storage.dialect import insert_for, upsert_add
from vedette.storage.schema import (
    projects,
    status_pages,
    uptime_checks,
    uptime_monitors,
    uptime_rollups,
)

HOUR, DAY = 3600, 86400


@dataclass(frozen=True, slots=True)
class UptimeMonitor:
    id: int
    project_id: int
    name: str
    url: str
    method: str
    headers: list[list[str]]
    body: str | None
    status_min: int
    status_max: int
    body_contains: str | None
    interval_seconds: int
    timeout_ms: int
    follow_redirects: bool
    environment: str | None
    failure_threshold: int
    public: bool
    created_at: float
    next_check_at: float
    state: str
    consecutive_failures: int
    last_checked_at: float | None
    issue_id: int | None
    tls_issue_id: int | None


_COLUMNS = [uptime_monitors.c[f.name] for f in fields(UptimeMonitor)]
# What a user sets; the rest is the scheduler's and the state machine's.
CONFIG_FIELDS = frozenset(
    f.name for f in fields(UptimeMonitor)
) - {"id", "project_id", "created_at", "next_check_at", "state", "consecutive_failures",
     "last_checked_at", "issue_id", "tls_issue_id"}  # fmt: skip


def _monitor(row: Any) -> UptimeMonitor:
    return UptimeMonitor(**row._mapping)


def create_monitor(conn: Connection, project_id: int, config: Mapping[str, Any], now: float) -> int:
    """A new monitor, due at once (its later runs keep to its own phase)."""
    values = {k: config[k] for k in CONFIG_FIELDS}
    row = conn.execute(
        insert_for(conn, uptime_monitors).returning(uptime_monitors.c.id),
        [
            {
                **values,
                "project_id": project_id,
                "created_at": now,
                "next_check_at": now,
                "state": "pending",
                "consecutive_failures": 0,
            }
        ],
    ).one()
    return int(row.id)


def update_monitor(
    conn: Connection, monitor_id: int, config: Mapping[str, Any], now: float
) -> None:
    """New settings take effect at the next run, which is now."""
    values = {k: config[k] for k in CONFIG_FIELDS}
    conn.execute(
        update(uptime_monitors)
        .where(uptime_monitors.c.id == monitor_id)
        .values(**values, next_check_at=now)
    )


def delete_monitor(conn: Connection, monitor_id: int) -> None:
    conn.execute(delete(uptime_checks).where(uptime_checks.c.monitor_id == monitor_id))
    conn.execute(delete(uptime_rollups).where(uptime_rollups.c.monitor_id == monitor_id))
    conn.execute(delete(uptime_monitors).where(uptime_monitors.c.id == monitor_id))


def get_monitor(conn: Connection, monitor_id: int, *, lock: bool = False) -> UptimeMonitor | None:
    query = select(*_COLUMNS).where(uptime_monitors.c.id == monitor_id)
    row = conn.execute(query.with_for_update() if lock else query).one_or_none()
    return None if row is None else _monitor(row)


def monitors_of_project(conn: Connection, project_id: int) -> list[UptimeMonitor]:
    rows = conn.execute(
        select(*_COLUMNS)
        .where(uptime_monitors.c.project_id == project_id)
        .order_by(uptime_monitors.c.name, uptime_monitors.c.id)
    )
    return [_monitor(r) for r in rows]


def monitors_by_ids(conn: Connection, ids: Sequence[int]) -> list[UptimeMonitor]:
    rows = conn.execute(
        select(*_COLUMNS).where(uptime_monitors.c.id.in_(ids)).order_by(uptime_monitors.c.name)
    )
    return [_monitor(r) for r in rows]


def soonest_check(conn: Connection) -> float | None:
    """When the next check of any monitor is due (None: no monitors)."""
    soonest = conn.scalar(select(func.min(uptime_monitors.c.next_check_at)))
    return None if soonest is None else float(soonest)


def claim_due(
    conn: Connection, now: float, limit: int, next_run: Callable[[UptimeMonitor], float]
) -> list[UptimeMonitor]:
    """The due monitors this caller won: each one's ``next_check_at`` moved to ``next_run``
    only if nobody moved it first (rows another node is claiming are skipped)."""
    due = conn.execute(
        select(*_COLUMNS)
        .where(uptime_monitors.c.next_check_at <= now)
        .order_by(uptime_monitors.c.next_check_at, uptime_monitors.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL: nodes take different monitors
    ).all()
    won: list[UptimeMonitor] = []
    for monitor in map(_monitor, due):
        moved = conn.execute(
            update(uptime_monitors)
            .where(
                uptime_monitors.c.id == monitor.id,
                uptime_monitors.c.next_check_at == monitor.next_check_at,
            )
            .values(next_check_at=next_run(monitor))
        )
        if moved.rowcount == 1:
            won.append(monitor)
    return won


@dataclass(frozen=True, slots=True)
class CheckRow:
    monitor_id: int
    checked_at: float
    ok: bool
    status_code: int | None
    latency_ms: float
    error_class: str | None
    error: str | None
    certificate_expires_at: float | None


def record_check(conn: Connection, check: CheckRow) -> None:
    """The result, and its share of the hour's and the day's roll-ups."""
    conn.execute(insert_for(conn, uptime_checks), [_values(check)])
    rollup = upsert_add(
        conn,
        uptime_rollups,
        ("monitor_id", "period", "start"),
        ("checks", "failures", "latency_ms_sum"),
    )
    conn.execute(
        rollup,
        [
            {
                "monitor_id": check.monitor_id,
                "period": period,
                "start": int(check.checked_at // period * period),
                "checks": 1,
                "failures": 0 if check.ok else 1,
                "latency_ms_sum": check.latency_ms,
            }
            for period in (HOUR, DAY)
        ],
    )


def _values(check: CheckRow) -> dict[str, Any]:
    return {f.name: getattr(check, f.name) for f in fields(CheckRow)}


def recent_checks(conn: Connection, monitor_id: int, limit: int) -> list[CheckRow]:
    """The newest checks first."""
    rows = conn.execute(
        select(*(uptime_checks.c[f.name] for f in fields(CheckRow)))
        .where(uptime_checks.c.monitor_id == monitor_id)
        .order_by(uptime_checks.c.checked_at.desc(), uptime_checks.c.id.desc())
        .limit(limit)
    )
    return [CheckRow(**r._mapping) for r in rows]


def set_state(conn: Connection, monitor_id: int, **values: Any) -> None:
    """The state machine's columns: state, consecutive_failures, last_checked_at, issue ids."""
    conn.execute(update(uptime_monitors).where(uptime_monitors.c.id == monitor_id).values(values))


def expire(db: Database, checks_before: float, days_before: float, batch: int = 500) -> int:
    """Retention: checks and hourly roll-ups as long as spans, daily roll-ups as events."""
    removed = 0
    while True:
        with db.write() as conn:
            ids = list(
                conn.scalars(
                    select(uptime_checks.c.id)
                    .where(uptime_checks.c.checked_at < checks_before)
                    .limit(batch)
                )
            )
            if ids:
                conn.execute(delete(uptime_checks).where(uptime_checks.c.id.in_(ids)))
        removed += len(ids)
        if len(ids) < batch:
            break
    with db.write() as conn:
        for period, cutoff in ((HOUR, checks_before), (DAY, days_before)):
            conn.execute(
                delete(uptime_rollups).where(
                    uptime_rollups.c.period == period, uptime_rollups.c.start < cutoff
                )
            )
    return removed


# --- Status pages ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusPage:
    organization_id: int
    enabled: bool
    title: str


def get_status_page(conn: Connection, organization_id: int) -> StatusPage | None:
    row = conn.execute(
        select(status_pages).where(status_pages.c.organization_id == organization_id)
    ).one_or_none()
    return None if row is None else StatusPage(row.organization_id, row.enabled, row.title)


def set_status_page(conn: Connection, organization_id: int, enabled: bool, title: str) -> None:
    stmt = insert_for(conn, status_pages)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["organization_id"], set_={"enabled": enabled, "title": title}
        ),
        [{"organization_id": organization_id, "enabled": enabled, "title": title}],
    )


def public_monitors(conn: Connection, organization_id: int) -> list[UptimeMonitor]:
    """The monitors an organisation shows on its status page."""
    rows = conn.execute(
        select(*_COLUMNS)
        .join(projects, projects.c.id == uptime_monitors.c.project_id)
        .where(projects.c.organization_id == organization_id, uptime_monitors.c.public)
        .order_by(uptime_monitors.c.name, uptime_monitors.c.id)
    )
    return [_monitor(r) for r in rows]

"""The stored facts alert rules are judged on: issues, their recent counts, projects, metrics."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from vedette.domain.alert_rules import Metric
from vedette.domain.performance import NON_FAILURE_STATUSES
from vedette.storage.schema import (
    events,
    group_tag_values,
    group_users,
    groups,
    organizations,
    spans,
)
from vedette.storage.schema import projects as projects_table


@dataclass(frozen=True, slots=True)
class ProjectLabel:
    id: int
    organization: str
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class IssueFacts:
    id: int
    project_id: int
    short_id: int
    title: str
    culprit: str
    level: str
    status: str
    times_seen: int
    first_seen: float
    last_seen: float
    user_count: int


def project_labels(conn: Connection, project_ids: Iterable[int]) -> dict[int, ProjectLabel]:
    rows = conn.execute(
        select(
            projects_table.c.id, organizations.c.slug.label("org"), projects_table.c.slug,
            projects_table.c.name,
        )
        .join(organizations, organizations.c.id == projects_table.c.organization_id)
        .where(projects_table.c.id.in_(sorted(set(project_ids))))
    ).all()  # fmt: skip
    return {r.id: ProjectLabel(r.id, r.org, r.slug, r.name) for r in rows}


def issue_facts(conn: Connection, group_ids: Iterable[int]) -> dict[int, IssueFacts]:
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    users: dict[int, int] = dict(
        conn.execute(
            select(group_users.c.group_id, func.count())
            .where(group_users.c.group_id.in_(ids))
            .group_by(group_users.c.group_id)
        ).all()
    )
    rows = conn.execute(select(groups).where(groups.c.id.in_(ids))).all()
    return {
        r.id: IssueFacts(
            r.id,
            r.project_id,
            r.short_id,
            r.title,
            r.culprit,
            r.level,
            r.status,
            r.times_seen,
            r.first_seen,
            r.last_seen,
            int(users.get(r.id, 0)),
        )
        for r in rows
    }


def events_between(conn: Connection, group_id: int, start: float, end: float | None = None) -> int:
    """Events of an issue with ``start <= timestamp`` (``< end`` when given)."""
    query = select(func.count()).where(events.c.group_id == group_id, events.c.timestamp >= start)
    if end is not None:
        query = query.where(events.c.timestamp < end)
    return int(conn.execute(query).scalar_one())


def users_since(conn: Connection, group_id: int, since: float) -> int:
    """Distinct users of an issue seen since ``since`` (a user's tag value was last seen then)."""
    return int(
        conn.execute(
            select(func.count()).where(
                group_tag_values.c.group_id == group_id,
                group_tag_values.c.key == "user",
                group_tag_values.c.last_seen >= since,
            )
        ).scalar_one()
    )


def metric_value(
    conn: Connection,
    project_id: int,
    metric: Metric,
    transaction: str | None,
    start: float,
    end: float,
) -> float | None:
    """A transaction metric over ``[start, end)``; None without transactions (no data). Durations
    are in milliseconds, the failure rate a share (0..1), throughput per minute."""
    query = select(spans.c.duration, spans.c.status).where(
        spans.c.project_id == project_id,
        spans.c.is_segment.is_(True),
        spans.c.start_timestamp >= start,
        spans.c.start_timestamp < end,
    )
    if transaction:
        query = query.where(spans.c.transaction == transaction)
    rows = conn.execute(query).all()
    if not rows:
        return 0.0 if metric == Metric.THROUGHPUT else None
    if metric == Metric.THROUGHPUT:
        return len(rows) / max(1.0, (end - start) / 60.0)
    if metric == Metric.FAILURE_RATE:
        failed = sum(1 for r in rows if (r.status or "unknown") not in NON_FAILURE_STATUSES)
        return failed / len(rows)
    quantile = {Metric.P50: 0.5, Metric.P95: 0.95, Metric.P99: 0.99}[metric]
    ordered = sorted(float(r.duration) for r in rows)
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]  # nearest rank


def event_groups(conn: Connection, project_id: int, event_ids: Iterable[str]) -> dict[str, int]:
    """Event id -> its issue, for the project's stored events among ``event_ids``."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(events.c.event_id, events.c.group_id).where(
            events.c.project_id == project_id,
            events.c.event_id.in_(ids),
            events.c.group_id.is_not(None),
        )
    )
    return {r[0]: int(r[1]) for r in rows}

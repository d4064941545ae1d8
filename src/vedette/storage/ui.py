"""Read-side queries only the web UI needs (the API's live in queries.py and performance.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, and_, cast, desc, func, or_, select

from vedette.storage.schema import (
    events,
    group_tag_values,
    groups,
    organizations,
    outcomes,
    projects,
    releases,
)


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    id: int
    organization_id: int
    organization_slug: str
    slug: str
    name: str
    apdex_threshold: float


def list_projects(conn: Connection, organization_ids: list[int] | None) -> list[ProjectSummary]:
    """Projects of the given organisations (None: every organisation)."""
    stmt = (
        select(
            projects.c.id,
            projects.c.organization_id,
            organizations.c.slug.label("org_slug"),
            projects.c.slug,
            projects.c.name,
            projects.c.apdex_threshold,
        )
        .join(organizations, organizations.c.id == projects.c.organization_id)
        .order_by(organizations.c.slug, projects.c.slug)
    )
    if organization_ids is not None:
        stmt = stmt.where(projects.c.organization_id.in_(organization_ids))
    return [
        ProjectSummary(r.id, r.organization_id, r.org_slug, r.slug, r.name, r.apdex_threshold)
        for r in conn.execute(stmt)
    ]


def accepted_per_hour(
    conn: Connection, project_ids: list[int], first_hour: int, category: str = "error"
) -> dict[int, dict[int, int]]:
    """{project: {hour number: events accepted}} from the hourly outcomes since ``first_hour``."""
    if not project_ids:
        return {}
    rows = conn.execute(
        select(outcomes.c.project_id, outcomes.c.hour, func.sum(outcomes.c.quantity))
        .where(
            outcomes.c.project_id.in_(project_ids),
            outcomes.c.hour >= first_hour,
            outcomes.c.outcome == "accepted",
            outcomes.c.category == category,
        )
        .group_by(outcomes.c.project_id, outcomes.c.hour)
    )
    found: dict[int, dict[int, int]] = {}
    for project_id, hour, quantity in rows:
        found.setdefault(int(project_id), {})[int(hour)] = int(quantity)
    return found


def _bucket(conn: Connection, column: Any, seconds: int) -> Any:
    """floor(column / seconds) for positive values. SQLite's CAST truncates (which is floor
    here) and has no floor() in every build; PostgreSQL's CAST rounds, so it gets floor()."""
    if conn.dialect.name == "postgresql":
        return cast(func.floor(column / seconds), BigInteger)
    return cast(column / seconds, BigInteger)


def tag_values(conn: Connection, project_id: int, key: str, limit: int = 50) -> list[str]:
    """The values a tag took on this project's issues (for filter menus)."""
    rows = conn.execute(
        select(group_tag_values.c.value)
        .distinct()
        .join(groups, groups.c.id == group_tag_values.c.group_id)
        .where(groups.c.project_id == project_id, group_tag_values.c.key == key)
        .order_by(group_tag_values.c.value)
        .limit(limit)
    )
    return [str(v) for v in rows.scalars()]


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    version: str
    first_seen: float
    last_seen: float


def project_releases(conn: Connection, project_id: int, limit: int = 100) -> list[ReleaseRow]:
    rows = conn.execute(
        select(releases.c.version, releases.c.first_seen, releases.c.last_seen)
        .where(releases.c.project_id == project_id)
        .order_by(desc(releases.c.first_seen))
        .limit(limit)
    )
    return [ReleaseRow(r.version, r.first_seen, r.last_seen) for r in rows]


@dataclass(frozen=True, slots=True)
class Neighbours:
    older: str | None
    newer: str | None
    oldest: str | None
    latest: str | None


def event_neighbours(conn: Connection, issue_id: int, event_id: str) -> Neighbours:
    """Event ids around one event of an issue, in the issue page's order (timestamp, row id)."""
    me = conn.execute(
        select(events.c.id, events.c.timestamp).where(
            events.c.group_id == issue_id, events.c.event_id == event_id
        )
    ).one_or_none()

    def first(where: Any, newest: bool) -> str | None:
        order = (
            (desc(events.c.timestamp), desc(events.c.id))
            if newest
            else (
                events.c.timestamp,
                events.c.id,
            )
        )
        found = conn.execute(
            select(events.c.event_id)
            .where(events.c.group_id == issue_id, where)
            .order_by(*order)
            .limit(1)
        ).scalar_one_or_none()
        return None if found is None else str(found)

    everything = events.c.id.isnot(None)
    if me is None:
        return Neighbours(None, None, first(everything, False), first(everything, True))
    before = or_(
        events.c.timestamp < me.timestamp,
        and_(events.c.timestamp == me.timestamp, events.c.id < me.id),
    )
    after = or_(
        events.c.timestamp > me.timestamp,
        and_(events.c.timestamp == me.timestamp, events.c.id > me.id),
    )
    return Neighbours(
        first(before, True), first(after, False), first(everything, False), first(everything, True)
    )


def issues_event_counts(
    conn: Connection, issue_ids: list[int], start: float, bucket_seconds: int
) -> dict[int, dict[int, int]]:
    """{issue: {bucket number: stored events}} since ``start``, for several issues at once."""
    if not issue_ids:
        return {}
    bucket = _bucket(conn, events.c.timestamp, bucket_seconds).label("bucket")
    rows = conn.execute(
        select(events.c.group_id, bucket, func.count())
        .where(events.c.group_id.in_(issue_ids), events.c.timestamp >= start)
        .group_by(events.c.group_id, bucket)
    )
    found: dict[int, dict[int, int]] = {}
    for group_id, b, n in rows:
        found.setdefault(int(group_id), {})[int(b)] = int(n)
    return found

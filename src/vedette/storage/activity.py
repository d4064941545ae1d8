"""Counts over time for the charts: events accepted per project and hour (from the outcomes)
and events stored per issue and time bucket."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Connection, cast, func, select

from vedette.storage.schema import events, outcomes


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

"""Read side for the API and UI: issues, their events and tag summaries, stored events, and
what filters and event navigation offer (tag values, releases, neighbouring events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    asc,
    desc,
    exists,
    func,
    or_,
    select,
    update,
)

from vedette.domain.events import IssueStatus
from vedette.domain.search import IssueSearch, TagFilter
from vedette.storage.assignment import assigned_match
from vedette.storage.codec import unpack
from vedette.storage.schema import (
    attachments,
    events,
    group_tag_values,
    group_users,
    groups,
    outcomes,
    releases,
)
from vedette.storage.user_identities import SEARCH_ONLY_KEYS, identity_filter

SORTS = {
    "date": groups.c.last_seen,
    "new": groups.c.first_seen,
    "freq": groups.c.times_seen,
}


@dataclass(frozen=True, slots=True)
class IssueRow:
    id: int
    project_id: int
    short_id: int
    title: str
    culprit: str
    level: str
    type: str
    metadata: dict[str, Any]
    platform: str
    status: str
    substatus: str | None
    first_seen: float
    last_seen: float
    times_seen: int
    user_count: int
    first_release: str | None
    last_release: str | None
    resolved_in_release: str | None


_USER_COUNT = (
    select(func.count())
    .select_from(group_users)
    .where(group_users.c.group_id == groups.c.id)
    .scalar_subquery()
)


def _issue_select() -> Select[Any]:
    return select(groups, _USER_COUNT.label("user_count"))


def _to_issue(row: Any) -> IssueRow:
    return IssueRow(
        id=row.id,
        project_id=row.project_id,
        short_id=row.short_id,
        title=row.title,
        culprit=row.culprit,
        level=row.level,
        type=row.type,
        metadata=row.metadata or {},
        platform=row.platform,
        status=row.status,
        substatus=row.substatus,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        times_seen=row.times_seen,
        user_count=row.user_count,
        first_release=row.first_release,
        last_release=row.last_release,
        resolved_in_release=row.resolved_in_release,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_issues(
    conn: Connection,
    project_id: int,
    search: IssueSearch,
    sort: str = "date",
    limit: int = 25,
    offset: int = 0,
) -> list[IssueRow]:
    stmt = _issue_select().where(groups.c.project_id == project_id)
    if search.statuses:
        stmt = stmt.where(groups.c.status.in_(search.statuses))
    if search.levels:
        stmt = stmt.where(groups.c.level.in_(search.levels))
    for tag in search.tags:
        match = _tag_match(tag)
        stmt = stmt.where(~match if tag.negated else match)
    for wanted in search.assigned:
        stmt = stmt.where(assigned_match(wanted))
    if search.text:
        pattern = f"%{_escape_like(search.text)}%"
        stmt = stmt.where(
            or_(
                groups.c.title.ilike(pattern, escape="\\"),
                groups.c.culprit.ilike(pattern, escape="\\"),
            )
        )
    order = _USER_COUNT if sort == "user" else SORTS.get(sort, groups.c.last_seen)
    stmt = stmt.order_by(desc(order), desc(groups.c.id)).limit(limit).offset(offset)
    return [_to_issue(r) for r in conn.execute(stmt)]


def _has_tag(key: str, value: str) -> ColumnElement[bool]:
    return exists().where(
        group_tag_values.c.group_id == groups.c.id,
        group_tag_values.c.key == key,
        group_tag_values.c.value == value,
    )


def _tag_match(tag: TagFilter) -> ColumnElement[bool]:
    """The issue has the tag value, or (for a user's email, username or IP) a user with it."""
    identity = identity_filter(tag)
    match = _has_tag(tag.key, tag.value)
    return match if identity is None else or_(match, _has_tag(*identity))


def get_issue(conn: Connection, issue_id: int) -> IssueRow | None:
    row = conn.execute(_issue_select().where(groups.c.id == issue_id)).one_or_none()
    return None if row is None else _to_issue(row)


def issue_project_id(conn: Connection, issue_id: int) -> int | None:
    """The project of an issue, read without counting its users (``get_issue`` does)."""
    return conn.execute(
        select(groups.c.project_id).where(groups.c.id == issue_id)
    ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class TagSummary:
    key: str
    total: int
    distinct: int
    top: list[tuple[str, int]]


def issue_tags(conn: Connection, issue_id: int, top: int = 9) -> list[TagSummary]:
    """Per tag key: events, distinct values and the ``top`` most frequent values.

    Counted and cut in SQL: a busy issue has a value row per user (5,000 for an issue of 15,000
    events), and reading them all into Python made the issue page 110 ms (docs/benchmarks.md).
    """
    t = group_tag_values
    keys = conn.execute(
        select(t.c.key, func.sum(t.c.times_seen), func.count())
        .where(t.c.group_id == issue_id, t.c.key.not_in(SEARCH_ONLY_KEYS))
        .group_by(t.c.key)
        .order_by(t.c.key)
    ).all()
    summaries = []
    for key, total, distinct in keys:
        values = conn.execute(
            select(t.c.value, t.c.times_seen)
            .where(t.c.group_id == issue_id, t.c.key == key)
            .order_by(desc(t.c.times_seen), t.c.value)
            .limit(top)
        )
        top_values = [(r.value, int(r.times_seen)) for r in values]
        summaries.append(TagSummary(key, int(total), int(distinct), top_values))
    return summaries


def latest_release(conn: Connection, project_id: int) -> str | None:
    return conn.execute(
        select(releases.c.version)
        .where(releases.c.project_id == project_id)
        .order_by(desc(releases.c.first_seen))
        .limit(1)
    ).scalar_one_or_none()


def set_issue_status(
    conn: Connection, issue_id: int, status: IssueStatus, now: float, release: str | None
) -> None:
    values: dict[str, Any] = {"status": status.value, "substatus": None}
    if status in (IssueStatus.RESOLVED, IssueStatus.RESOLVED_IN_NEXT_RELEASE):
        values["resolved_at"] = now
        values["resolved_in_release"] = (
            release if status == IssueStatus.RESOLVED_IN_NEXT_RELEASE else None
        )
    else:
        values["resolved_at"] = None
        values["resolved_in_release"] = None
        if status == IssueStatus.UNRESOLVED:
            values["substatus"] = "ongoing"
    conn.execute(update(groups).where(groups.c.id == issue_id).values(**values))


@dataclass(frozen=True, slots=True)
class StoredEvent:
    project_id: int
    event_id: str
    group_id: int | None
    type: str
    title: str
    data: dict[str, Any]


def _to_event(row: Any) -> StoredEvent:
    return StoredEvent(
        row.project_id, row.event_id, row.group_id, row.type, row.title, unpack(row.data)
    )


_EVENT_COLUMNS = (
    events.c.project_id,
    events.c.event_id,
    events.c.group_id,
    events.c.type,
    events.c.title,
    events.c.data,
)


def issue_events(
    conn: Connection, issue_id: int, limit: int = 50, offset: int = 0, oldest_first: bool = False
) -> list[StoredEvent]:
    direction = asc if oldest_first else desc
    rows = conn.execute(
        select(*_EVENT_COLUMNS)
        .where(events.c.group_id == issue_id)
        .order_by(direction(events.c.timestamp), direction(events.c.id))
        .limit(limit)
        .offset(offset)
    )
    return [_to_event(r) for r in rows]


def get_event(conn: Connection, project_id: int, event_id: str) -> StoredEvent | None:
    row = conn.execute(
        select(*_EVENT_COLUMNS).where(
            events.c.project_id == project_id, events.c.event_id == event_id
        )
    ).one_or_none()
    return None if row is None else _to_event(row)


def project_events(
    conn: Connection,
    project_id: int,
    event_type: str | None,
    limit: int = 100,
    offset: int = 0,
) -> list[StoredEvent]:
    stmt = select(*_EVENT_COLUMNS).where(events.c.project_id == project_id)
    if event_type:
        stmt = stmt.where(events.c.type == event_type)
    stmt = stmt.order_by(desc(events.c.timestamp), desc(events.c.id)).limit(limit).offset(offset)
    return [_to_event(r) for r in conn.execute(stmt)]


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    id: int
    name: str
    content_type: str
    attachment_type: str
    size: int


def event_attachments(conn: Connection, project_id: int, event_id: str) -> list[AttachmentRow]:
    rows = conn.execute(
        select(
            attachments.c.id,
            attachments.c.name,
            attachments.c.content_type,
            attachments.c.attachment_type,
            attachments.c.size,
        )
        .where(and_(attachments.c.project_id == project_id, attachments.c.event_id == event_id))
        .order_by(attachments.c.id)
    )
    return [AttachmentRow(r.id, r.name, r.content_type, r.attachment_type, r.size) for r in rows]


def outcome_totals(conn: Connection, project_id: int) -> dict[str, dict[str, int]]:
    """{outcome: {category: quantity}} over all time."""
    rows = conn.execute(
        select(outcomes.c.outcome, outcomes.c.category, func.sum(outcomes.c.quantity))
        .where(outcomes.c.project_id == project_id)
        .group_by(outcomes.c.outcome, outcomes.c.category)
    )
    totals: dict[str, dict[str, int]] = {}
    for outcome, category, quantity in rows:
        totals.setdefault(outcome, {})[category] = int(quantity)
    return totals


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


def event_neighbours(conn: Connection, project_id: int, issue_id: int, event_id: str) -> Neighbours:
    """Event ids around one event of an issue, in the issue page's order (timestamp, row id).

    The event is found by its unique (project, event id) key, and each neighbour by a range of
    ``ix_events_group_timestamp`` starting at its timestamp: the issue's own index with the
    event id as a filter, or "newer than" as an OR alone, read every event of the issue
    (107 to 120 ms at 14,877 events on SQLite, docs/benchmarks.md).
    """
    me = conn.execute(
        select(events.c.id, events.c.timestamp).where(
            events.c.project_id == project_id,
            events.c.event_id == event_id,
            events.c.group_id == issue_id,
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
    before = and_(
        events.c.timestamp <= me.timestamp,
        or_(events.c.timestamp < me.timestamp, events.c.id < me.id),
    )
    after = and_(
        events.c.timestamp >= me.timestamp,
        or_(events.c.timestamp > me.timestamp, events.c.id > me.id),
    )
    return Neighbours(
        first(before, True), first(after, False), first(everything, False), first(everything, True)
    )

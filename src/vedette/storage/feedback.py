"""User feedback from every source, stored once each and read with the issue of its event.

The event a report is about may arrive before or after it: the link is made when reading, by
joining on (project, event_id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, select

from vedette.domain.processed import ProcessedEnvelope, UserFeedback
from vedette.storage.dialect import insert_ignore
from vedette.storage.schema import events, groups, user_feedback


@dataclass(frozen=True, slots=True)
class StoredFeedback:
    id: int
    project_id: int
    feedback_id: str
    source: str
    event_id: str | None
    name: str
    email: str
    comments: str
    url: str | None
    release: str | None
    environment: str | None
    timestamp: float
    group_id: int | None  # the issue of its event, once that event is stored


def _row(project_id: int, found: UserFeedback) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "feedback_id": found.feedback_id,
        "source": found.source,
        "event_id": found.event_id,
        "name": found.name,
        "email": found.email,
        "comments": found.comments,
        "url": found.url,
        "release": found.release,
        "environment": found.environment,
        "timestamp": found.timestamp,
    }


def store_feedback(conn: Connection, batch: Sequence[tuple[int, ProcessedEnvelope]]) -> None:
    """Insert the batch's feedback; one stored before (same project and id) is skipped."""
    rows = [_row(pid, found) for pid, env in batch for found in env.feedback]
    if rows:
        conn.execute(insert_ignore(conn, user_feedback), rows)


def add_feedback(conn: Connection, project_id: int, found: UserFeedback) -> StoredFeedback:
    """Store one report (from the REST API or the error page) and return it as stored."""
    conn.execute(insert_ignore(conn, user_feedback), [_row(project_id, found)])
    query = _select().where(
        user_feedback.c.project_id == project_id,
        user_feedback.c.feedback_id == found.feedback_id,
    )
    return _stored(conn.execute(query).one())


def _select() -> Select[Any]:
    linked = user_feedback.outerjoin(
        events,
        (events.c.project_id == user_feedback.c.project_id)
        & (events.c.event_id == user_feedback.c.event_id),
    )
    return select(user_feedback, events.c.group_id).select_from(linked)


def list_feedback(
    conn: Connection, project_id: int, limit: int, offset: int = 0
) -> list[StoredFeedback]:
    """The project's feedback, newest first."""
    query = (
        _select()
        .where(user_feedback.c.project_id == project_id)
        .order_by(user_feedback.c.timestamp.desc(), user_feedback.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_stored(r) for r in conn.execute(query)]


def issue_feedback(conn: Connection, group_id: int, limit: int = 50) -> list[StoredFeedback]:
    """Feedback about the events of one issue, newest first.

    Read from the issue's project's feedback, each joined to its event by key: the issue's
    own index ("+ 0" keeps SQLite off it) would visit every event of the issue (44 ms for an
    issue of 15,000 events, docs/benchmarks.md).
    """
    project = select(groups.c.project_id).where(groups.c.id == group_id).scalar_subquery()
    query = (
        _select()
        .where(user_feedback.c.project_id == project, events.c.group_id + 0 == group_id)
        .order_by(user_feedback.c.timestamp.desc(), user_feedback.c.id.desc())
        .limit(limit)
    )
    return [_stored(r) for r in conn.execute(query)]


def _stored(row: Any) -> StoredFeedback:
    values = row._mapping
    return StoredFeedback(**{name: values[name] for name in StoredFeedback.__dataclass_fields__})

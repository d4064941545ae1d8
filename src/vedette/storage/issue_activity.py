"""An issue's activity: who did what and when (status changes, assignment, merges, comments),
and what Vedette saw itself (first seen, regressions). Comments are ``note`` rows.

(``storage/activity.py`` is something else: event counts over time for the charts.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, delete, desc, insert, select, update

from vedette.domain.issue_activity import ActivityType
from vedette.storage.schema import group_activity, users


@dataclass(frozen=True, slots=True)
class ActivityRow:
    id: int
    group_id: int
    type: str
    user_id: int | None
    user_email: str | None
    data: dict[str, Any]
    created_at: float


@dataclass(frozen=True, slots=True)
class NewActivity:
    group_id: int
    project_id: int
    type: ActivityType
    user_id: int | None  # None: an API token, or Vedette itself
    data: dict[str, Any]


def record(conn: Connection, items: Sequence[NewActivity], now: float) -> list[int]:
    """Insert the activities; their ids, in order."""
    return [
        int(
            conn.execute(
                insert(group_activity)
                .values(
                    group_id=a.group_id,
                    project_id=a.project_id,
                    type=a.type.value,
                    user_id=a.user_id,
                    data=a.data,
                    created_at=now,
                )
                .returning(group_activity.c.id)
            ).scalar_one()
        )
        for a in items
    ]


class StoredIssue(Protocol):
    """What the worker tells of an issue it stored events of (``ingest_store.IssueOutcome``)."""

    @property
    def project_id(self) -> int: ...
    @property
    def group_id(self) -> int: ...
    @property
    def new(self) -> bool: ...
    @property
    def regressed(self) -> bool: ...
    @property
    def latest(self) -> dict[str, Any]: ...


def record_stored(conn: Connection, stored: Sequence[StoredIssue], now: float) -> None:
    """``first_seen`` for new issues and ``set_regression`` (with the release that brought it
    back) for reopened ones, in the transaction that stored their events."""
    items: list[NewActivity] = []
    for issue in stored:
        if issue.new:
            items.append(NewActivity(issue.group_id, issue.project_id, ActivityType.FIRST_SEEN,
                                     None, {}))  # fmt: skip
        if issue.regressed:
            release = issue.latest.get("release")
            data = {"version": release} if isinstance(release, str) and release else {}
            items.append(NewActivity(issue.group_id, issue.project_id,
                                     ActivityType.SET_REGRESSION, None, data))  # fmt: skip
    if items:
        conn.execute(
            insert(group_activity),
            [
                {
                    "group_id": a.group_id,
                    "project_id": a.project_id,
                    "type": a.type.value,
                    "user_id": None,
                    "data": a.data,
                    "created_at": now,
                }
                for a in items
            ],
        )


def _select() -> Any:
    return select(group_activity, users.c.email.label("user_email")).outerjoin(
        users, users.c.id == group_activity.c.user_id
    )


def _row(r: Any) -> ActivityRow:
    return ActivityRow(
        int(r.id), int(r.group_id), r.type, r.user_id, r.user_email, r.data or {}, r.created_at
    )


def issue_activity(
    conn: Connection, group_id: int, types: Sequence[str] | None = None, limit: int = 100
) -> list[ActivityRow]:
    """Newest first (Sentry's order)."""
    stmt = _select().where(group_activity.c.group_id == group_id)
    if types is not None:
        stmt = stmt.where(group_activity.c.type.in_(types))
    rows = conn.execute(
        stmt.order_by(desc(group_activity.c.created_at), desc(group_activity.c.id)).limit(limit)
    )
    return [_row(r) for r in rows]


def get_note(conn: Connection, group_id: int, note_id: int) -> ActivityRow | None:
    row = conn.execute(
        _select().where(
            group_activity.c.id == note_id,
            group_activity.c.group_id == group_id,
            group_activity.c.type == ActivityType.NOTE.value,
        )
    ).one_or_none()
    return None if row is None else _row(row)


def edit_note(conn: Connection, note_id: int, text: str) -> None:
    conn.execute(
        update(group_activity).where(group_activity.c.id == note_id).values(data={"text": text})
    )


def delete_note(conn: Connection, note_id: int) -> None:
    conn.execute(delete(group_activity).where(group_activity.c.id == note_id))


def move(conn: Connection, from_group_ids: list[int], to_group_id: int) -> None:
    """A merged issue's history becomes its parent's."""
    conn.execute(
        update(group_activity)
        .where(group_activity.c.group_id.in_(from_group_ids))
        .values(group_id=to_group_id)
    )

"""A project's issue tracker settings and the tracker URLs linked to its issues
(docs/workflow.md, "Issue trackers")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, delete, insert, select, update

from vedette.domain.trackers import TrackerSettings
from vedette.storage.schema import group_links, project_trackers

MAX_LINKS_PER_ISSUE = 20


@dataclass(frozen=True, slots=True)
class IssueLink:
    id: int
    group_id: int
    url: str
    kind: str
    created_at: float


def tracker_settings(conn: Connection, project_id: int) -> TrackerSettings:
    row = conn.execute(
        select(project_trackers).where(project_trackers.c.project_id == project_id)
    ).one_or_none()
    if row is None:
        return TrackerSettings()
    values = row._mapping
    return TrackerSettings(**{name: values[name] for name in TrackerSettings.__dataclass_fields__})


def save_tracker_settings(conn: Connection, project_id: int, settings: TrackerSettings) -> None:
    conn.execute(delete(project_trackers).where(project_trackers.c.project_id == project_id))
    conn.execute(insert(project_trackers).values(project_id=project_id, **asdict(settings)))


def add_link(
    conn: Connection, group_id: int, project_id: int, url: str, kind: str, user_id: int | None,
    now: float,
) -> bool:  # fmt: skip
    """Link ``url`` to the issue; False when it is linked already or the issue has as many
    links as it may."""
    known = [link.url for link in links_of(conn, [group_id]).get(group_id, [])]
    if url in known or len(known) >= MAX_LINKS_PER_ISSUE:
        return False
    conn.execute(
        insert(group_links).values(
            group_id=group_id, project_id=project_id, url=url, kind=kind, user_id=user_id,
            created_at=now,
        )
    )  # fmt: skip
    return True


def remove_link(conn: Connection, group_id: int, link_id: int) -> bool:
    done = conn.execute(
        delete(group_links).where(group_links.c.group_id == group_id, group_links.c.id == link_id)
    )
    return done.rowcount > 0


def links_of(conn: Connection, group_ids: Iterable[int]) -> dict[int, list[IssueLink]]:
    """Issue id -> its links, oldest first."""
    ids = sorted(set(group_ids))
    found: dict[int, list[IssueLink]] = defaultdict(list)
    if not ids:
        return found
    rows = conn.execute(
        select(
            group_links.c.id, group_links.c.group_id, group_links.c.url, group_links.c.kind,
            group_links.c.created_at,
        )
        .where(group_links.c.group_id.in_(ids))
        .order_by(group_links.c.id)
    )  # fmt: skip
    for row in rows:
        found[row.group_id].append(IssueLink(*row))
    return found


def move_links(conn: Connection, from_group_ids: list[int], to_group_id: int) -> None:
    """Merged issues' links go to the issue they were merged into."""
    conn.execute(
        update(group_links)
        .where(group_links.c.group_id.in_(from_group_ids))
        .values(group_id=to_group_id)
    )

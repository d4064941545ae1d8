"""Where a merged issue went (Sentry's GroupRedirect): a merge deletes its children, and their
old links (the web page, ``/api/0/issues/{id}/``) lead to the issue they were merged into."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, insert, select, update

from vedette.storage.schema import group_redirects, groups


def record(conn: Connection, child_ids: Sequence[int], parent_id: int) -> None:
    """The children now live in the parent, and so does whatever had been merged into them
    (a redirect always names an issue that exists, in one step)."""
    children = sorted(set(child_ids))
    if not children:
        return
    r = group_redirects
    conn.execute(update(r).where(r.c.group_id.in_(children)).values(group_id=parent_id))
    # SQLite may give a deleted issue's id to a new one (no AUTOINCREMENT): a redirect of an id
    # an issue holds is stale.
    conn.execute(delete(r).where(r.c.previous_group_id.in_(children)))
    conn.execute(insert(r), [{"previous_group_id": c, "group_id": parent_id} for c in children])


def follow(conn: Connection, issue_id: int) -> int | None:
    """The issue a merged issue went into, if that one still exists (retention may have
    deleted it since). Ask only for an id no issue holds (see ``record``)."""
    found = conn.execute(
        select(groups.c.id)
        .join(group_redirects, group_redirects.c.group_id == groups.c.id)
        .where(group_redirects.c.previous_group_id == issue_id)
    ).scalar_one_or_none()
    return None if found is None else int(found)

"""Which issue each new error event belongs to: its grouping hashes' owner, or a new issue.

A hash belongs to at most one issue (``group_hashes``' key). Two workers (PostgreSQL) can
create an issue for the same new hash at once: the one whose claim finds the hash taken
drops its issue and joins the other.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from vedette.domain.events import IssueStatus
from vedette.domain.processed import ProcessedEvent
from vedette.storage.batch_keys import by_project
from vedette.storage.dialect import insert_ignore
from vedette.storage.schema import group_hashes, groups, projects


def assign_issues(
    conn: Connection, fresh_errors: list[tuple[int, ProcessedEvent]]
) -> tuple[dict[int, int], set[int]]:
    """Map each event (by position in ``fresh_errors``) to its group, creating new groups;
    also return the ids of the groups created."""
    wanted = {(pid, h) for pid, e in fresh_errors for h in e.grouping.hashes}
    owner: dict[tuple[int, str], int] = {}
    for project_id, hashes in by_project(wanted).items():
        rows = conn.execute(
            select(group_hashes.c.hash, group_hashes.c.group_id).where(
                group_hashes.c.project_id == project_id, group_hashes.c.hash.in_(hashes)
            )
        )
        owner.update(((project_id, r.hash), r.group_id) for r in rows)
    live = _lock_issues(conn, set(owner.values()))
    owner = {key: group_id for key, group_id in owner.items() if group_id in live}
    group_of: dict[int, int] = {}
    created: set[int] = set()
    for index, (pid, processed) in enumerate(fresh_errors):
        keys = [(pid, h) for h in processed.grouping.hashes]
        strategy = processed.grouping.strategy
        group_id = next((owner[k] for k in keys if k in owner), None)
        if group_id is None:
            group_id = _create_issue(conn, pid, processed)
            if not _claim_hashes(conn, keys, strategy, group_id):
                # Another process created this issue between our lookup and our insert (the
                # insert waited for its commit): use that issue and drop ours.
                conn.execute(delete(groups).where(groups.c.id == group_id))
                group_id = _owner_of(conn, keys[0])
            else:
                created.add(group_id)
        else:
            missing = [k for k in keys if k not in owner]
            if missing:
                _claim_hashes(conn, missing, strategy, group_id)
        owner.update(dict.fromkeys(keys, group_id))
        group_of[index] = group_id
    return group_of, created


def _lock_issues(conn: Connection, group_ids: set[int]) -> set[int]:
    """The issues of ``group_ids`` that still exist, locked until the batch commits (on
    PostgreSQL, in id order as every writer locks them). Retention deletes an idle issue under
    the same lock: an issue it deleted meanwhile is not found, and its events start a new one."""
    if not group_ids:
        return set()
    rows = conn.execute(
        select(groups.c.id).where(groups.c.id.in_(sorted(group_ids))).order_by(groups.c.id)
        .with_for_update()
    )  # fmt: skip
    return set(rows.scalars())


def _claim_hashes(
    conn: Connection, keys: list[tuple[int, str]], strategy: str, group_id: int
) -> bool:
    """Give unowned hashes to the group; False if every one of them was already taken."""
    inserted = conn.execute(
        insert_ignore(conn, group_hashes).returning(group_hashes.c.hash),
        [{"project_id": p, "hash": h, "strategy": strategy, "group_id": group_id} for p, h in keys],
    ).all()
    return bool(inserted)


def _owner_of(conn: Connection, key: tuple[int, str]) -> int:
    return int(
        conn.execute(
            select(group_hashes.c.group_id).where(
                group_hashes.c.project_id == key[0], group_hashes.c.hash == key[1]
            )
        ).scalar_one()
    )


def next_short_id(conn: Connection, project_id: int) -> int:
    """The project's next issue number (its short id, SHOP-12)."""
    return int(
        conn.execute(
            update(projects)
            .where(projects.c.id == project_id)
            .values(next_short_id=projects.c.next_short_id + 1)
            .returning(projects.c.next_short_id)
        ).scalar_one()
    )


def _create_issue(conn: Connection, project_id: int, processed: ProcessedEvent) -> int:
    short_id = next_short_id(conn, project_id)
    event, summary = processed.event, processed.summary
    ts = float(event["timestamp"])
    release = event.get("release")
    return int(
        conn.execute(
            groups.insert()
            .values(
                project_id=project_id,
                short_id=short_id,
                title=summary.title,
                culprit=summary.culprit,
                level=summary.level,
                type=summary.type,
                metadata=summary.metadata,
                platform=str(event.get("platform") or "other"),
                status=IssueStatus.UNRESOLVED.value,
                substatus="new",
                first_seen=ts,
                last_seen=ts,
                times_seen=0,
                first_release=release,
                last_release=release,
                grouping_strategy=processed.grouping.strategy,
            )
            .returning(groups.c.id)
        ).scalar_one()
    )

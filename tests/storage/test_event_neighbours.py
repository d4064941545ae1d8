"""The issue page's event navigation (older, newer, oldest, latest) on both engines, in the
page's order: timestamp, then row id for events of the same second."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from vedette.storage import accounts, queries
from vedette.storage.database import Database
from vedette.storage.schema import events, groups

# (event id, timestamp) in insertion (row id) order: "c" and "d" share a second with "b".
ISSUE_EVENTS = [("a", 10.0), ("d", 30.0), ("b", 20.0), ("c", 20.0), ("e", 20.0), ("f", 40.0)]
PAGE_ORDER = ["a", "b", "c", "e", "d", "f"]


def eid(name: str) -> str:
    return name * 32


def new_issue(conn: Connection, project_id: int, short_id: int) -> int:
    return int(
        conn.execute(
            groups.insert().values(
                project_id=project_id, short_id=short_id, title="boom", culprit="", level="error",
                type="error", metadata={}, platform="python", status="unresolved",
                first_seen=0.0, last_seen=0.0, times_seen=0, grouping_strategy="test",
            )
        ).inserted_primary_key[0]
    )  # fmt: skip


def add_event(conn: Connection, project_id: int, issue: int, event_id: str, ts: float) -> None:
    conn.execute(
        events.insert().values(
            project_id=project_id, event_id=event_id, group_id=issue, type="error",
            timestamp=ts, received=ts, title="boom", data=b"",
        )
    )  # fmt: skip


@pytest.fixture
def issue(db: Database) -> tuple[int, int]:
    """An issue of six events, another issue's events at the same times in between, and the
    same event ids in another project."""
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "shop").id
        other_project = accounts.create_project(conn, "acme", "other").id
        mine, other = new_issue(conn, project, 1), new_issue(conn, project, 2)
        elsewhere = new_issue(conn, other_project, 1)
        for name, ts in ISSUE_EVENTS:
            add_event(conn, project, mine, eid(name), ts)
            add_event(conn, project, other, eid(name.upper()), ts)
            add_event(conn, other_project, elsewhere, eid(name), ts + 5)
    return project, mine


@pytest.mark.parametrize("position", range(len(PAGE_ORDER)))
def test_each_event_has_its_page_neighbours(
    db: Database, issue: tuple[int, int], position: int
) -> None:
    project, mine = issue
    with db.read() as conn:
        found = queries.event_neighbours(conn, project, mine, eid(PAGE_ORDER[position]))
    expected = queries.Neighbours(
        older=eid(PAGE_ORDER[position - 1]) if position > 0 else None,
        newer=eid(PAGE_ORDER[position + 1]) if position + 1 < len(PAGE_ORDER) else None,
        oldest=eid(PAGE_ORDER[0]),
        latest=eid(PAGE_ORDER[-1]),
    )
    assert found == expected


@pytest.mark.parametrize("event_id", [eid("A"), eid("z")], ids=["other issue's", "unknown"])
def test_an_event_not_of_the_issue_has_only_its_ends(
    db: Database, issue: tuple[int, int], event_id: str
) -> None:
    project, mine = issue
    with db.read() as conn:
        found = queries.event_neighbours(conn, project, mine, event_id)
    assert found == queries.Neighbours(None, None, eid("a"), eid("f"))

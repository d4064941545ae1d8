"""The issue list sorted by events (sort=freq), read from ix_groups_project_times_seen on both
engines: most events first, the newer issue first among equals, paged, filtered by status."""

from __future__ import annotations

import pytest

from vedette.domain.search import parse_search
from vedette.storage import accounts, queries
from vedette.storage.database import Database
from vedette.storage.schema import groups

# (short id, times seen, status) in insertion (row id) order.
ISSUES = [
    (1, 5, "unresolved"), (2, 50, "unresolved"), (3, 5, "resolved"), (4, 7, "unresolved"),
    (5, 50, "ignored"), (6, 5, "unresolved"), (7, 1, "unresolved"), (8, 50, "unresolved"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "limit", "offset", "expected"),
    [
        ("", 100, 0, [8, 5, 2, 4, 6, 3, 1, 7]),
        ("is:unresolved", 100, 0, [8, 2, 4, 6, 1, 7]),
        ("is:unresolved", 2, 0, [8, 2]),
        ("is:unresolved", 3, 2, [4, 6, 1]),
        ("is:resolved", 100, 0, [3]),
    ],
)
def test_issues_by_events(
    db: Database, query: str, limit: int, offset: int, expected: list[int]
) -> None:
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "shop").id
        other = accounts.create_project(conn, "acme", "other").id
        for owner in (project, other):
            conn.execute(
                groups.insert(),
                [
                    dict(
                        project_id=owner, short_id=short_id, title="boom", culprit="",
                        level="error", type="error", metadata={}, platform="python",
                        status=status, first_seen=0.0, last_seen=0.0, times_seen=seen,
                        grouping_strategy="test",
                    )
                    for short_id, seen, status in ISSUES
                ],
            )  # fmt: skip
    with db.read() as conn:
        found = queries.search_issues(conn, project, parse_search(query), "freq", limit, offset)
    assert [issue.short_id for issue in found] == expected

"""``Fixes SHOP-12`` in a release's commits resolves that issue in that release, as Sentry does
(docs/releases.md, "Commits and issues"): an event of that release or a newer one, happening
after the resolution, reopens it; events of older releases do not."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select, update

from vedette.domain.events import IssueStatus
from vedette.domain.issue_activity import ActivityType
from vedette.domain.release_input import CommitInput
from vedette.domain.suspects import fixed_short_ids, parse_short_id
from vedette.storage import issue_activity
from vedette.storage.schema import groups, projects

MAX_FIXED_PER_RELEASE = 200


def _issues_named(
    conn: Connection, organization_id: int, short_ids: Sequence[str]
) -> dict[str, tuple[int, int, str]]:
    """Short id -> (issue id, project id, status) of the organisation's issues it names."""
    found: dict[str, tuple[int, int, str]] = {}
    for short_id in short_ids:
        parsed = parse_short_id(short_id)
        if parsed is None:
            continue
        slug, number = parsed
        row = conn.execute(
            select(groups.c.id, groups.c.project_id, groups.c.status)
            .join(projects, projects.c.id == groups.c.project_id)
            .where(
                projects.c.organization_id == organization_id,
                func.lower(projects.c.slug) == slug.lower(),
                groups.c.short_id == number,
            )
        ).one_or_none()
        if row is not None:
            found[short_id] = (row.id, row.project_id, row.status)
    return found


def resolve_fixed(
    conn: Connection,
    organization_id: int,
    version: str,
    commits: Sequence[CommitInput],
    now: float,
) -> list[int]:
    """Resolve, in release ``version``, the issues that the commits' messages say they fix;
    the ids of the issues resolved now (already resolved ones are left as they are)."""
    named: dict[str, str] = {}  # short id -> the commit that fixes it
    for commit in commits:
        for short_id in fixed_short_ids(commit.message or ""):
            named.setdefault(short_id, commit.sha)
    issues = _issues_named(conn, organization_id, list(named)[:MAX_FIXED_PER_RELEASE])
    resolved = []
    for short_id, (issue_id, project_id, status) in issues.items():
        if status in (IssueStatus.RESOLVED, IssueStatus.RESOLVED_IN_NEXT_RELEASE):
            continue
        conn.execute(
            update(groups)
            .where(groups.c.id == issue_id)
            .values(
                status=IssueStatus.RESOLVED.value,
                substatus=None,
                resolved_at=now,
                resolved_in_release=version,
            )
        )
        issue_activity.record(
            conn,
            [
                issue_activity.NewActivity(
                    issue_id,
                    project_id,
                    ActivityType.SET_RESOLVED_IN_RELEASE,
                    None,
                    {"version": version, "commit": named[short_id]},
                )
            ],
            now,
        )
        resolved.append(issue_id)
    return resolved

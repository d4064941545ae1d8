"""Teams of an organisation's users: issues are assigned to them, and they own projects, which
is what members see when the organisation's open membership is off (docs/workflow.md)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from vedette.domain.assignment import is_slug
from vedette.storage.schema import (
    memberships,
    organizations,
    projects,
    team_members,
    team_projects,
    teams,
    users,
)


class TeamError(ValueError):
    """A team cannot be created as asked (bad slug, taken, a member who is not in the org)."""


@dataclass(frozen=True, slots=True)
class TeamRow:
    id: int
    organization_id: int
    slug: str
    name: str
    created_at: float
    member_emails: tuple[str, ...]


def org_user_ids(conn: Connection, organization_id: int, emails: list[str]) -> dict[str, int]:
    """{email: user id} of those emails whose users may work on the organisation's issues:
    its members and superusers."""
    if not emails:
        return {}
    member = select(memberships.c.user_id).where(memberships.c.organization_id == organization_id)
    rows = conn.execute(
        select(users.c.email, users.c.id).where(
            users.c.email.in_([e.strip().lower() for e in emails]),
            or_(users.c.is_superuser.is_(True), users.c.id.in_(member)),
        )
    )
    return {r.email: int(r.id) for r in rows}


def create_team(
    conn: Connection,
    organization_id: int,
    slug: str,
    name: str,
    member_emails: list[str],
    now: float,
) -> TeamRow:
    if not is_slug(slug):
        raise TeamError("slug must be lower-case letters, digits, '-' or '_' (64 at most)")
    if not 0 < len(name) <= 200:
        raise TeamError("name must be 1 to 200 characters")
    wanted = sorted({e.strip().lower() for e in member_emails})
    found = org_user_ids(conn, organization_id, wanted)
    missing = [e for e in wanted if e not in found]
    if missing:
        raise TeamError(f"not users of this organization: {', '.join(missing)}")
    if find_team(conn, organization_id, slug) is not None:
        raise TeamError(f"a team {slug!r} exists already")
    try:
        with conn.begin_nested():
            team_id = conn.execute(
                insert(teams)
                .values(organization_id=organization_id, slug=slug, name=name, created_at=now)
                .returning(teams.c.id)
            ).scalar_one()
    except IntegrityError as exc:  # created by someone else since the check
        raise TeamError(f"a team {slug!r} exists already") from exc
    if found:
        conn.execute(
            insert(team_members), [{"team_id": team_id, "user_id": u} for u in found.values()]
        )
    return TeamRow(int(team_id), organization_id, slug, name, now, tuple(wanted))


def _members(conn: Connection, team_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {t: [] for t in team_ids}
    if not team_ids:
        return found
    rows = conn.execute(
        select(team_members.c.team_id, users.c.email)
        .join(users, users.c.id == team_members.c.user_id)
        .where(team_members.c.team_id.in_(team_ids))
        .order_by(users.c.email)
    )
    for team_id, email in rows:
        found[int(team_id)].append(str(email))
    return found


def _rows(conn: Connection, where: ColumnElement[bool]) -> list[TeamRow]:
    rows = conn.execute(select(teams).where(where).order_by(teams.c.slug)).all()
    members = _members(conn, [int(r.id) for r in rows])
    return [
        TeamRow(
            int(r.id), int(r.organization_id), r.slug, r.name, r.created_at, tuple(members[r.id])
        )
        for r in rows
    ]


def list_teams(conn: Connection, organization_id: int) -> list[TeamRow]:
    return _rows(conn, teams.c.organization_id == organization_id)


def find_team(conn: Connection, organization_id: int, slug: str) -> TeamRow | None:
    found = _rows(conn, (teams.c.organization_id == organization_id) & (teams.c.slug == slug))
    return found[0] if found else None


def org_users(conn: Connection, organization_id: int) -> list[tuple[int, str]]:
    """(id, email) of everyone who may be assigned the organisation's issues, by email."""
    member = select(memberships.c.user_id).where(memberships.c.organization_id == organization_id)
    rows = conn.execute(
        select(users.c.id, users.c.email)
        .where(or_(users.c.is_superuser.is_(True), users.c.id.in_(member)))
        .order_by(users.c.email)
    )
    return [(int(r.id), str(r.email)) for r in rows]


def team_project_ids(conn: Connection, organization_id: int) -> dict[int, set[int]]:
    """Team id -> the projects it owns, for the organisation's teams."""
    rows = conn.execute(
        select(team_projects.c.team_id, team_projects.c.project_id)
        .join(teams, teams.c.id == team_projects.c.team_id)
        .where(teams.c.organization_id == organization_id)
    )
    found: dict[int, set[int]] = {}
    for team_id, project_id in rows:
        found.setdefault(int(team_id), set()).add(int(project_id))
    return found


def set_team_projects(
    conn: Connection, organization_id: int, team_id: int, project_ids: set[int]
) -> bool:
    """The team owns exactly these projects (those of its organisation); False: no such team."""
    team = conn.execute(
        select(teams.c.id).where(teams.c.id == team_id, teams.c.organization_id == organization_id)
    ).first()
    if team is None:
        return False
    own = set(
        conn.execute(
            select(projects.c.id).where(
                projects.c.organization_id == organization_id, projects.c.id.in_(project_ids)
            )
        ).scalars()
    )
    conn.execute(delete(team_projects).where(team_projects.c.team_id == team_id))
    if own:
        conn.execute(
            insert(team_projects), [{"team_id": team_id, "project_id": p} for p in sorted(own)]
        )
    return True


def open_membership(conn: Connection, organization_id: int) -> bool:
    found = conn.execute(
        select(organizations.c.open_membership).where(organizations.c.id == organization_id)
    ).scalar_one_or_none()
    return bool(found) if found is not None else True


def set_open_membership(conn: Connection, organization_id: int, value: bool) -> None:
    conn.execute(
        update(organizations)
        .where(organizations.c.id == organization_id)
        .values(open_membership=value)
    )

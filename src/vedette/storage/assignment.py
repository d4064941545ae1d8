"""Who owns an issue: a user or a team of its organisation, read for many issues at once, set,
searched (``assigned:``) and told (the emails of an assignee for notifications)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, delete, exists, false, insert, select

from vedette.domain.assignment import AssigneeKind, AssigneeRef
from vedette.domain.search import AssignedFilter, AssignedKind
from vedette.storage.schema import group_assignees, groups, team_members, teams, users
from vedette.storage.teams import find_team, org_user_ids


@dataclass(frozen=True, slots=True)
class Assignee:
    type: str  # "user" | "team"
    id: int
    name: str  # a user's email, a team's slug
    email: str | None  # users only

    @property
    def ref(self) -> str:
        """The ``assignedTo`` value naming this assignee."""
        return f"{self.type}:{self.name if self.type == 'team' else self.id}"


def resolve(conn: Connection, organization_id: int, ref: AssigneeRef) -> Assignee | None:
    """The assignee ``ref`` names, if it is a user or team of the organisation."""
    if ref.kind == AssigneeKind.TEAM:
        team = find_team(conn, organization_id, ref.value)
        return None if team is None else Assignee("team", team.id, team.slug, None)
    email = ref.value
    if ref.kind == AssigneeKind.USER:
        found = conn.execute(
            select(users.c.email).where(users.c.id == int(ref.value))
        ).scalar_one_or_none()
        if found is None:
            return None
        email = str(found)
    user_id = org_user_ids(conn, organization_id, [email]).get(email)
    return None if user_id is None else Assignee("user", user_id, email, email)


def assignees_of(conn: Connection, group_ids: list[int]) -> dict[int, Assignee]:
    if not group_ids:
        return {}
    a = group_assignees
    rows = conn.execute(
        select(a.c.group_id, a.c.user_id, a.c.team_id, users.c.email, teams.c.slug)
        .outerjoin(users, users.c.id == a.c.user_id)
        .outerjoin(teams, teams.c.id == a.c.team_id)
        .where(a.c.group_id.in_(group_ids))
    )
    found: dict[int, Assignee] = {}
    for r in rows:
        if r.user_id is not None and r.email is not None:
            found[int(r.group_id)] = Assignee("user", int(r.user_id), r.email, r.email)
        elif r.team_id is not None and r.slug is not None:
            found[int(r.group_id)] = Assignee("team", int(r.team_id), r.slug, None)
    return found


def set_assignee(conn: Connection, group_id: int, assignee: Assignee | None, now: float) -> bool:
    """Assign (None: unassign); False when nothing changed."""
    before = assignees_of(conn, [group_id]).get(group_id)
    if before == assignee:
        return False
    conn.execute(delete(group_assignees).where(group_assignees.c.group_id == group_id))
    if assignee is not None:
        conn.execute(
            insert(group_assignees).values(
                group_id=group_id,
                user_id=assignee.id if assignee.type == "user" else None,
                team_id=assignee.id if assignee.type == "team" else None,
                assigned_at=now,
            )
        )
    return True


def forget(conn: Connection, group_ids: list[int]) -> None:
    """Issues that are no more (merged into another) keep no assignee."""
    conn.execute(delete(group_assignees).where(group_assignees.c.group_id.in_(group_ids)))


def emails_of(conn: Connection, assignee: Assignee) -> list[str]:
    """Who hears about an assignee's issue: the user, or every member of the team."""
    if assignee.type == "user":
        return [assignee.email] if assignee.email else []
    rows = conn.execute(
        select(users.c.email)
        .join(team_members, team_members.c.user_id == users.c.id)
        .where(team_members.c.team_id == assignee.id)
        .order_by(users.c.email)
    )
    return [str(e) for e in rows.scalars()]


def assigned_match(wanted: AssignedFilter) -> ColumnElement[bool]:
    """The search condition on ``groups`` for one ``assigned:`` / ``is:assigned`` filter."""
    a = group_assignees
    here = a.c.group_id == groups.c.id
    match: ColumnElement[bool]
    if wanted.kind == AssignedKind.USER:
        match = exists().where(here, a.c.user_id == int(wanted.value))
    elif wanted.kind == AssignedKind.EMAIL:
        match = exists().where(here, a.c.user_id == users.c.id, users.c.email == wanted.value)
    elif wanted.kind == AssignedKind.TEAM:
        match = exists().where(here, a.c.team_id == teams.c.id, teams.c.slug == wanted.value)
    elif wanted.kind == AssignedKind.ANY:
        match = exists().where(here)
    else:  # ME left unresolved (domain.search.for_viewer makes it USER): no one
        match = false()
    return ~match if wanted.negated else match

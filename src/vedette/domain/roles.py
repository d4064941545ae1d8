"""Organisation roles, lowest first, with Sentry's meaning (docs/workflow.md, "Roles"):

- ``viewer``: sees the organisation's projects; changes nothing;
- ``member``: also works on issues (status, assignment, comments, merges, tracker links) and
  alert rules, and makes API tokens that may write;
- ``admin``: also changes projects: client keys, settings, scrubbing, trackers, uptime;
- ``manager``: also invites and removes members and changes their roles (up to manager);
- ``owner``: everything, owners included.

Superusers (operators) are owners everywhere.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    MANAGER = "manager"
    OWNER = "owner"


ORDER = list(Role)


def at_least(role: Role | None, needed: Role) -> bool:
    return role is not None and ORDER.index(role) >= ORDER.index(needed)


def parse_role(raw: object) -> Role:
    """A role from a form, the CLI or the API; ValueError names the roles."""
    try:
        return Role(str(raw).strip().lower())
    except ValueError:
        raise ValueError(f"a role is one of: {', '.join(Role)}") from None


def may_grant(granter: Role | None, role: Role) -> bool:
    """Managers give roles up to their own; only owners make (or unmake) owners."""
    if role == Role.OWNER:
        return granter == Role.OWNER
    return at_least(granter, Role.MANAGER)

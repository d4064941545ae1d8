"""API token scopes, with Sentry's names and meaning (docs/workflow.md, "API tokens").

A token holds scopes; a route needs any one of the scopes listed for its kind of resource and
method (a higher scope of the same resource implies the lower ones, as in Sentry). A user's
token is bounded by the user's role: what it may do in an organisation is the token's scopes
cut down to that role's, checked on every request, so a lowered role or a removed member
lowers or ends the token at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from vedette.domain.roles import Role


class Scope(StrEnum):
    ORG_READ = "org:read"
    ORG_WRITE = "org:write"
    ORG_ADMIN = "org:admin"
    PROJECT_READ = "project:read"
    PROJECT_WRITE = "project:write"
    PROJECT_ADMIN = "project:admin"
    PROJECT_RELEASES = "project:releases"
    TEAM_READ = "team:read"
    TEAM_WRITE = "team:write"
    TEAM_ADMIN = "team:admin"
    MEMBER_READ = "member:read"
    MEMBER_WRITE = "member:write"
    MEMBER_ADMIN = "member:admin"
    EVENT_READ = "event:read"
    EVENT_WRITE = "event:write"
    EVENT_ADMIN = "event:admin"
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"


ALL_SCOPES = frozenset(Scope)
READ_SCOPES = frozenset(s for s in Scope if s.endswith(":read"))

_MEMBER = READ_SCOPES | {
    Scope.EVENT_WRITE, Scope.EVENT_ADMIN, Scope.PROJECT_RELEASES, Scope.ALERTS_WRITE,
}  # fmt: skip
_ADMIN = _MEMBER | {
    Scope.PROJECT_WRITE, Scope.PROJECT_ADMIN, Scope.TEAM_WRITE, Scope.TEAM_ADMIN,
}  # fmt: skip
_MANAGER = _ADMIN | {Scope.MEMBER_WRITE, Scope.MEMBER_ADMIN, Scope.ORG_WRITE}

# What each organisation role may do through the API: the same line as the UI's
# (web/roles.py): viewers read, members work on issues, releases and alerts, admins change
# projects and teams, managers members and the organisation, owners everything.
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.VIEWER: READ_SCOPES,
    Role.MEMBER: frozenset(_MEMBER),
    Role.ADMIN: frozenset(_ADMIN),
    Role.MANAGER: frozenset(_MANAGER),
    Role.OWNER: ALL_SCOPES,
}


class Resource(StrEnum):
    """What a route reads or changes; with the method it gives the scopes the route needs."""

    ORGANIZATION = "org"
    PROJECT = "project"
    RELEASES = "releases"
    TEAM = "team"
    MEMBER = "member"
    EVENT = "event"
    ALERTS = "alerts"
    TOKEN = "token"  # about the token itself (``GET /api/0/``): any valid token
    OPERATOR = "operator"  # the instance's internals: operator tokens only


def _levels(read: Scope, write: Scope, admin: Scope) -> dict[str, frozenset[Scope]]:
    return {
        "GET": frozenset({read, write, admin}),
        "POST": frozenset({write, admin}),
        "PUT": frozenset({write, admin}),
        "DELETE": frozenset({admin}),
    }


_RELEASE_WORK = frozenset({Scope.PROJECT_RELEASES, Scope.PROJECT_WRITE, Scope.PROJECT_ADMIN})
_NEEDED: dict[Resource, dict[str, frozenset[Scope]]] = {
    Resource.ORGANIZATION: _levels(Scope.ORG_READ, Scope.ORG_WRITE, Scope.ORG_ADMIN),
    Resource.PROJECT: _levels(Scope.PROJECT_READ, Scope.PROJECT_WRITE, Scope.PROJECT_ADMIN),
    Resource.TEAM: _levels(Scope.TEAM_READ, Scope.TEAM_WRITE, Scope.TEAM_ADMIN),
    Resource.MEMBER: _levels(Scope.MEMBER_READ, Scope.MEMBER_WRITE, Scope.MEMBER_ADMIN),
    Resource.EVENT: _levels(Scope.EVENT_READ, Scope.EVENT_WRITE, Scope.EVENT_ADMIN),
    # Sentry has no alerts:admin: who may write alert rules may delete them.
    Resource.ALERTS: {
        "GET": frozenset({Scope.ALERTS_READ, Scope.ALERTS_WRITE}),
        **dict.fromkeys(("POST", "PUT", "DELETE"), frozenset({Scope.ALERTS_WRITE})),
    },
    # sentry-cli's release pipeline: project:releases is enough to read and to write.
    Resource.RELEASES: {
        "GET": _RELEASE_WORK | {Scope.PROJECT_READ},
        **dict.fromkeys(("POST", "PUT", "DELETE"), _RELEASE_WORK),
    },
}


def needed_scopes(resource: Resource, method: str) -> frozenset[Scope]:
    """Any one of these lets a token call the route (empty: no scope is needed). KeyError for a
    method the resource does not take, which the route table never routes."""
    if resource in (Resource.TOKEN, Resource.OPERATOR):
        return frozenset()
    return _NEEDED[resource]["GET" if method == "HEAD" else method]


def parse_scopes(raw: Iterable[str]) -> frozenset[Scope]:
    """Scopes from a form, the CLI or the database; ValueError names an unknown one."""
    found = set()
    for name in raw:
        try:
            found.add(Scope(name.strip()))
        except ValueError:
            raise ValueError(f"unknown scope {name.strip()!r}") from None
    return frozenset(found)


def beyond_role(scopes: Iterable[Scope], role: Role | None) -> list[Scope]:
    """The scopes a user of ``role`` may not give a token, sorted (all of them for no role)."""
    allowed = ROLE_SCOPES[role] if role is not None else frozenset()
    return sorted(s for s in scopes if s not in allowed)


def effective_scopes(scopes: frozenset[Scope], role: Role | None) -> frozenset[Scope]:
    """A user's token in an organisation: its scopes within the user's role there."""
    return scopes & ROLE_SCOPES[role] if role is not None else frozenset()


def user_token_scopes(requested: Iterable[str] | None, role: Role | None) -> frozenset[Scope]:
    """The scopes of a new token of a user with ``role`` in the token's organisation: those
    asked for (all the role's when None). ValueError when the user is no member, asks for
    nothing, or asks for more than the role allows."""
    if role is None:
        raise ValueError("the user is not a member of that organisation")
    if requested is None:
        return ROLE_SCOPES[role]
    scopes = parse_scopes(requested)
    if not scopes:
        raise ValueError("a token needs at least one scope")
    if beyond := beyond_role(scopes, role):
        raise ValueError(f"a {role} may not give a token {', '.join(beyond)}")
    return scopes

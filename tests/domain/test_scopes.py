"""Token scopes: what each role may give a token, and what each kind of route needs."""

from __future__ import annotations

import itertools

import pytest

from vedette.domain.roles import Role
from vedette.domain.scopes import (
    ALL_SCOPES,
    ROLE_SCOPES,
    Resource,
    Scope,
    beyond_role,
    effective_scopes,
    needed_scopes,
    parse_scopes,
    user_token_scopes,
)

S = Scope

# (resource, method, a scope that lets the route be called, a scope that does not)
NEEDS = [
    (Resource.EVENT, "GET", S.EVENT_READ, S.PROJECT_READ),
    (Resource.EVENT, "HEAD", S.EVENT_WRITE, S.ORG_READ),
    (Resource.EVENT, "PUT", S.EVENT_WRITE, S.EVENT_READ),
    (Resource.EVENT, "DELETE", S.EVENT_ADMIN, S.EVENT_WRITE),
    (Resource.PROJECT, "GET", S.PROJECT_ADMIN, S.EVENT_READ),
    (Resource.PROJECT, "POST", S.PROJECT_WRITE, S.PROJECT_READ),
    (Resource.PROJECT, "DELETE", S.PROJECT_ADMIN, S.PROJECT_WRITE),
    (Resource.RELEASES, "GET", S.PROJECT_READ, S.EVENT_READ),
    (Resource.RELEASES, "POST", S.PROJECT_RELEASES, S.PROJECT_READ),
    (Resource.ALERTS, "GET", S.ALERTS_READ, S.PROJECT_READ),
    (Resource.ALERTS, "DELETE", S.ALERTS_WRITE, S.ALERTS_READ),
    (Resource.ORGANIZATION, "PUT", S.ORG_WRITE, S.ORG_READ),
    (Resource.TEAM, "POST", S.TEAM_WRITE, S.TEAM_READ),
]


@pytest.mark.parametrize(("resource", "method", "enough", "too_little"), NEEDS)
def test_routes_need_a_scope_of_their_resource(
    resource: Resource, method: str, enough: Scope, too_little: Scope
) -> None:
    needed = needed_scopes(resource, method)
    assert enough in needed
    assert too_little not in needed


def test_token_and_operator_routes_need_no_scope() -> None:
    assert needed_scopes(Resource.TOKEN, "GET") == frozenset()
    assert needed_scopes(Resource.OPERATOR, "GET") == frozenset()


def test_roles_grow_and_match_their_meaning() -> None:
    ordered = [ROLE_SCOPES[r] for r in Role]
    assert all(lower < higher for lower, higher in itertools.pairwise(ordered))
    assert ROLE_SCOPES[Role.OWNER] == ALL_SCOPES
    assert all(s.endswith(":read") for s in ROLE_SCOPES[Role.VIEWER])
    assert {S.EVENT_WRITE, S.PROJECT_RELEASES, S.ALERTS_WRITE} <= ROLE_SCOPES[Role.MEMBER]
    assert S.PROJECT_WRITE not in ROLE_SCOPES[Role.MEMBER]
    assert S.PROJECT_WRITE in ROLE_SCOPES[Role.ADMIN]
    assert S.MEMBER_WRITE not in ROLE_SCOPES[Role.ADMIN]
    assert S.MEMBER_WRITE in ROLE_SCOPES[Role.MANAGER]
    assert S.ORG_ADMIN not in ROLE_SCOPES[Role.MANAGER]


@pytest.mark.parametrize(
    ("requested", "role", "expected"),
    [
        (None, Role.MEMBER, ROLE_SCOPES[Role.MEMBER]),
        (["project:releases", " org:read"], Role.MEMBER, {S.PROJECT_RELEASES, S.ORG_READ}),
        (["project:write"], Role.MEMBER, "a member may not give a token project:write"),
        (["event:write", "org:admin"], Role.VIEWER, "may not give a token event:write, org:admin"),
        (["project:read"], None, "not a member"),
        ([], Role.OWNER, "at least one scope"),
        (["project:everything"], Role.OWNER, "unknown scope 'project:everything'"),
    ],
)
def test_a_user_gives_a_token_scopes_within_the_role(
    requested: list[str] | None, role: Role | None, expected: object
) -> None:
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            user_token_scopes(requested, role)
    else:
        assert user_token_scopes(requested, role) == expected


def test_a_lowered_role_lowers_the_token() -> None:
    token = parse_scopes(["project:write", "project:read", "event:write"])
    assert effective_scopes(token, Role.ADMIN) == token
    assert effective_scopes(token, Role.MEMBER) == {S.PROJECT_READ, S.EVENT_WRITE}
    assert effective_scopes(token, Role.VIEWER) == {S.PROJECT_READ}
    assert effective_scopes(token, None) == frozenset()
    assert beyond_role(token, Role.VIEWER) == [S.EVENT_WRITE, S.PROJECT_WRITE]

"""The role walk: users of each role call every change of the organisation's pages (every POST
route under /p/{org}/ and /o/{org}/, from the application's route table and web/roles.py, so a
new route cannot escape); a lesser role than the route's gets 403, the others get past the
check. Managers give roles up to their own, owners all, and an organisation keeps an owner."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from starlette.routing import Route
from tests.conftest import LiveVedette
from tests.ui.conftest import PASSWORD, Account, Visitor, make_account, signed_in

from vedette.app import create_app
from vedette.domain.roles import Role, at_least
from vedette.settings import Settings
from vedette.storage import users
from vedette.web.roles import ACTION_ROLES
from vedette.web.ui import ROUTE_PREFIX

pytestmark = pytest.mark.e2e

BOGUS = {"issue_id": "999999", "rule_id": "999999", "monitor_id": "999999", "link_id": "999999",
         "invitation_id": "999999", "user_id": "999999", "team_id": "999999",
         "key": "nokey"}  # fmt: skip


def org_changes(tmp_path: Path) -> list[tuple[str, str]]:
    """(route name, path template) of every POST route of an organisation's pages."""
    app = create_app(Settings(data_dir=tmp_path, worker_enabled=False))
    return [
        (r.name.removeprefix(ROUTE_PREFIX), r.path)
        for r in app.routes
        if isinstance(r, Route) and (r.name or "").startswith(ROUTE_PREFIX)
        and "POST" in (r.methods or set()) and "{org}" in r.path
    ]  # fmt: skip


def member_of(server: LiveVedette, account: Account, role: Role) -> Account:
    email = f"{role}-{uuid.uuid4().hex[:6]}@roles.test"
    with server.db.write() as conn:
        users.create_user(conn, email, PASSWORD, [account.project.org], role=role)
    return Account(email, PASSWORD, account.project)


def test_every_change_takes_its_role(live_vedette: LiveVedette, tmp_path: Path) -> None:
    owner = make_account(live_vedette, "roles")
    routes = org_changes(tmp_path)
    assert len(routes) >= 25 and {name for name, _ in routes} <= set(ACTION_ROLES)
    values = {"org": owner.project.org, "project": owner.project.slug, **BOGUS}
    for role in Role:
        account = member_of(live_vedette, owner, role)
        visitor: Visitor = signed_in(live_vedette, account)
        try:
            members = visitor.page(f"/o/{owner.project.org}/members/")  # every role reads
            token = members.csrf_token
            for name, template in routes:
                path = re.sub(r"{(\w+)(?::\w+)?}", lambda m: values[m.group(1)], template)
                answer = visitor.post(path, {"csrf_token": token})
                allowed = at_least(role, ACTION_ROLES[name])
                assert (answer.status_code == 403) is not allowed, (role, name, answer.status_code)
        finally:
            visitor.close()


def test_roles_are_given_within_ones_own(live_vedette: LiveVedette) -> None:
    owner = make_account(live_vedette, "grant")
    org = owner.project.org
    manager = member_of(live_vedette, owner, Role.MANAGER)
    viewer = member_of(live_vedette, owner, Role.VIEWER)
    with live_vedette.db.read() as conn:
        ids = {a.email: users.get_user(conn, a.email).id for a in (owner, viewer)}  # type: ignore[union-attr]
    members = f"/o/{org}/members/"
    by_manager = signed_in(live_vedette, manager)
    try:
        token = by_manager.page(members).csrf_token
        role_of = f"{members}{ids[viewer.email]}/role/"
        assert by_manager.post(role_of, {"csrf_token": token, "role": "admin"}).status_code == 303
        assert by_manager.post(role_of, {"csrf_token": token, "role": "owner"}).status_code == 403
        owners = f"{members}{ids[owner.email]}/role/"
        assert by_manager.post(owners, {"csrf_token": token, "role": "member"}).status_code == 403
        assert by_manager.post(f"{members}{ids[owner.email]}/remove/",
                               {"csrf_token": token}).status_code == 403  # fmt: skip
        invite = by_manager.post(f"{members}invite/", {"csrf_token": token, "role": "owner",
                                                       "email": "x@grant.test"})  # fmt: skip
        assert invite.status_code == 403
    finally:
        by_manager.close()
    with live_vedette.db.read() as conn:
        promoted = users.get_user(conn, viewer.email)
    assert promoted is not None and promoted.role_in(promoted_org(promoted)) == Role.ADMIN
    by_owner = signed_in(live_vedette, owner)
    try:
        token = by_owner.page(members).csrf_token
        last = by_owner.post(f"{members}{ids[owner.email]}/role/",
                             {"csrf_token": token, "role": "member"})  # fmt: skip
        assert last.status_code == 400 and "at least one owner" in last.text
    finally:
        by_owner.close()


def promoted_org(user: users.User) -> int:
    [org_id] = user.organization_ids
    return org_id

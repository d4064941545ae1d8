"""Open membership off: members see only their teams' projects (pages and the project list);
admins see all; a team owning the project opens it to its members at once."""

from __future__ import annotations

import uuid

import pytest
from tests.conftest import LiveVedette
from tests.ui.conftest import PASSWORD, Account, make_account, signed_in

from vedette.domain.roles import Role
from vedette.storage import accounts, teams, users

pytestmark = pytest.mark.e2e


def test_closed_membership_shows_members_their_teams_projects(live_vedette: LiveVedette) -> None:
    owner = make_account(live_vedette, "closed")
    org, project = owner.project.org, owner.project
    other = live_vedette.create_project(slug=f"other-{uuid.uuid4().hex[:6]}", org=org)
    member = Account(f"member-{uuid.uuid4().hex[:6]}@closed.test", PASSWORD, project)
    admin = Account(f"admin-{uuid.uuid4().hex[:6]}@closed.test", PASSWORD, project)
    with live_vedette.db.write() as conn:
        users.create_user(conn, member.email, PASSWORD, [org], role=Role.MEMBER)
        users.create_user(conn, admin.email, PASSWORD, [org], role=Role.ADMIN)
        org_id = accounts.organization_id(conn, org)
    assert org_id is not None

    by_owner = signed_in(live_vedette, owner)
    try:
        token = by_owner.page(f"/o/{org}/members/").csrf_token
        closed = by_owner.post(f"/o/{org}/open-membership/", {"csrf_token": token})
        assert closed.status_code == 303
        team = by_owner.page(f"/o/{org}/members/")
        assert "Open membership" in team.text
    finally:
        by_owner.close()

    seen = signed_in(live_vedette, member)
    try:
        assert seen.get(f"{member.base}/issues/").status_code == 404
        assert f"{org} / {project.slug}" not in seen.page("/").text
        with live_vedette.db.write() as conn:
            shop = teams.create_team(conn, org_id, "shop", "Shop", [member.email], 0.0)
            assert teams.set_team_projects(conn, org_id, shop.id, {project.id, other.id + 10**6})
        assert seen.get(f"{member.base}/issues/").status_code == 200  # at once
        assert seen.get(f"/p/{org}/{other.slug}/issues/").status_code == 404
        home = seen.page("/").text
        assert f"{org} / {project.slug}" in home and f"{org} / {other.slug}" not in home
    finally:
        seen.close()

    by_admin = signed_in(live_vedette, admin)
    try:
        assert by_admin.get(f"/p/{org}/{other.slug}/issues/").status_code == 200
    finally:
        by_admin.close()

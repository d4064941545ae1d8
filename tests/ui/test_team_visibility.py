"""Open membership off: members see only their teams' projects (pages and the project list);
admins see all; a team owning the project opens it to its members at once."""

from __future__ import annotations

import time
import uuid

import httpx
import orjson
import pytest
from tests.conftest import LiveVedette, ProjectHandle
from tests.performance.traffic import envelope, transaction
from tests.ui.conftest import PASSWORD, Account, make_account, signed_in

from vedette.domain.roles import Role
from vedette.domain.scopes import ROLE_SCOPES
from vedette.storage import accounts, teams, tokens, users

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


def _send(server: LiveVedette, project: ProjectHandle, payload: dict[str, object]) -> None:
    response = server.http.post(
        f"/api/{project.id}/envelope/",
        content=envelope(("transaction", payload)),
        headers={"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"},
    )
    assert response.status_code == 200


def test_a_trace_shows_a_member_only_the_projects_they_may_see(live_vedette: LiveVedette) -> None:
    """A trace crosses the organisation's projects; with open membership off, a member sees
    the parts in their teams' projects, in the web UI and with their API token."""
    owner = make_account(live_vedette, "traced")
    org, seen_project = owner.project.org, owner.project
    hidden = live_vedette.create_project(slug=f"hidden-{uuid.uuid4().hex[:6]}", org=org)
    member = Account(f"member-{uuid.uuid4().hex[:6]}@traced.test", PASSWORD, seen_project)
    with live_vedette.db.write() as conn:
        member_id = users.create_user(conn, member.email, PASSWORD, [org], role=Role.MEMBER).id
        org_id = accounts.organization_id(conn, org)
        assert org_id is not None
        teams.set_open_membership(conn, org_id, False)
        shop = teams.create_team(conn, org_id, "shop", "Shop", [member.email], 0.0)
        assert teams.set_team_projects(conn, org_id, shop.id, {seen_project.id})
        token = tokens.create_token(
            conn, "member", org_id, user_id=member_id, scopes=ROLE_SCOPES[Role.MEMBER]
        )
    trace_id, now = uuid.uuid4().hex, time.time()
    _send(
        live_vedette,
        seen_project,
        transaction("/visible-checkout", now - 5, 120, trace_id=trace_id),
    )
    _send(live_vedette, hidden, transaction("/hidden-payroll", now - 5, 80, trace_id=trace_id))
    live_vedette.wait_processed()

    api = httpx.get(
        f"{live_vedette.base_url}/api/0/projects/{org}/{seen_project.slug}/traces/{trace_id}/",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 200
    body = orjson.dumps(api.json()).decode()
    assert "/visible-checkout" in body and "/hidden-payroll" not in body

    seen = signed_in(live_vedette, member)
    try:
        page = seen.get(f"{member.base}/traces/{trace_id}/")
        assert page.status_code == 200
        assert "/visible-checkout" in page.text and "/hidden-payroll" not in page.text
    finally:
        seen.close()
    by_owner = signed_in(live_vedette, owner)
    try:
        assert "/hidden-payroll" in by_owner.get(f"{owner.base}/traces/{trace_id}/").text
    finally:
        by_owner.close()

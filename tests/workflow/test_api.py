"""Teams, assignment, search, comments, activity, bulk updates and merges through the JSON API
of a live server (both engines)."""

from __future__ import annotations

import uuid

import pytest
from tests.conftest import LiveVedette, ProjectHandle
from tests.workflow.sending import call, create_user, issues_by_title, send_error

from vedette.domain.search import NO_VIEWER


@pytest.fixture
def org() -> str:
    return f"o{uuid.uuid4().hex[:10]}"


def issue_path(issue_id: str) -> str:
    return f"/api/0/issues/{issue_id}/"


def bulk_path(project: ProjectHandle, *ids: str) -> str:
    query = "&".join(f"id={i}" for i in ids)
    return f"/api/0/projects/{project.org}/{project.slug}/issues/?{query}"


def search(server: LiveVedette, project: ProjectHandle, query: str) -> set[str]:
    return {i["title"].partition(":")[0] for i in server.issues(project, query)}


def activity_types(server: LiveVedette, issue_id: str) -> list[str]:
    found = server.api_get(f"{issue_path(issue_id)}activities/")["activity"]
    return [a["type"] for a in found]


def test_teams_assignment_and_assigned_search(live_vedette: LiveVedette, org: str) -> None:
    server = live_vedette
    project = server.create_project(org=org)
    ann = create_user(server, org)
    outsider = create_user(server, f"other-{org}")
    for kind in ("Alpha", "Beta", "Gamma"):
        send_error(server, project, kind)
    server.wait_processed()
    issues = issues_by_title(server, project)
    alpha, beta, gamma = (issues[k]["id"] for k in ("Alpha", "Beta", "Gamma"))
    assert {i["assignedTo"] for i in issues.values()} == {None}

    teams = f"/api/0/organizations/{org}/teams/"
    created = call(server, "POST", teams, json={"slug": "backend", "members": [ann.email]})
    assert created.status_code == 201, created.text
    assert (created.json()["slug"], created.json()["memberCount"]) == ("backend", 1)
    assert call(server, "POST", teams, json={"slug": "backend"}).status_code == 409
    stranger = call(server, "POST", teams, json={"slug": "ops", "members": [outsider.email]})
    assert stranger.status_code == 400
    assert [t["slug"] for t in server.api_get(teams)] == ["backend"]

    by_email = server.api_put(issue_path(alpha), {"assignedTo": ann.email.upper()})
    assert by_email["assignedTo"] == {
        "type": "user", "id": str(ann.id), "name": ann.email, "email": ann.email,
    }  # fmt: skip
    by_team = server.api_put(issue_path(beta), {"assignedTo": "team:backend"})
    assert (by_team["assignedTo"]["type"], by_team["assignedTo"]["name"]) == ("team", "backend")
    for wrong in (outsider.email, f"user:{outsider.id}", "team:nope", "not an email", 7):
        answer = call(server, "PUT", issue_path(gamma), json={"assignedTo": wrong})
        assert answer.status_code == 400, wrong
    listed = issues_by_title(server, project)
    assert listed["Alpha"]["assignedTo"]["id"] == str(ann.id)
    assert listed["Gamma"]["assignedTo"] is None

    assert search(server, project, f"assigned:{ann.email}") == {"Alpha"}
    assert search(server, project, "assigned:#backend") == {"Beta"}
    assert search(server, project, "is:assigned") == {"Alpha", "Beta"}
    assert search(server, project, "is:unassigned") == {"Gamma"}
    me = call(server, "GET", f"/api/0/projects/{org}/{project.slug}/issues/",
              params={"query": "assigned:me"})  # fmt: skip
    assert (me.status_code, me.json()["detail"]) == (400, NO_VIEWER)

    assert server.api_put(issue_path(alpha), {"assignedTo": ""})["assignedTo"] is None
    assert activity_types(server, alpha) == ["unassigned", "assigned", "first_seen"]
    [assigned] = server.api_get(f"{issue_path(beta)}activities/")["activity"][:1]
    assert assigned["data"]["assigneeType"] == "team"
    assert assigned["user"] is None  # a token is no one


def test_status_bulk_updates_comments_and_regressions(live_vedette: LiveVedette, org: str) -> None:
    server = live_vedette
    project = server.create_project(org=org)
    ann = create_user(server, org)
    for kind in ("Alpha", "Beta"):
        send_error(server, project, kind)
    server.wait_processed()
    ids = [i["id"] for i in issues_by_title(server, project).values()]

    resolved = server.api_put(bulk_path(project, *ids), {"status": "resolved"})
    assert resolved == {"status": "resolved", "statusDetails": {}}
    assigned = server.api_put(bulk_path(project, *ids), {"assignedTo": f"user:{ann.id}"})
    assert assigned["assignedTo"]["email"] == ann.email
    for issue_id in ids:
        detail = server.api_get(issue_path(issue_id))
        assert (detail["status"], detail["assignedTo"]["id"]) == ("resolved", str(ann.id))
        assert activity_types(server, issue_id) == ["assigned", "set_resolved", "first_seen"]
    assert call(server, "PUT", bulk_path(project), json={"status": "resolved"}).status_code == 400
    other = server.create_project(org=org)
    assert (
        call(server, "PUT", bulk_path(other, *ids), json={"status": "resolved"}).status_code == 404
    )

    # A resolved issue that gets a new event regresses, and says so.
    send_error(server, project, "Alpha", release="shop@2.0")
    server.wait_processed()
    alpha = issues_by_title(server, project)["Alpha"]["id"]
    regression = server.api_get(f"{issue_path(alpha)}activities/")["activity"][0]
    assert (regression["type"], regression["data"]) == ("set_regression", {"version": "shop@2.0"})

    comments = f"{issue_path(alpha)}comments/"
    posted = call(server, "POST", comments, json={"text": "Looks like **the cache**"})
    assert posted.status_code == 201, posted.text
    note = posted.json()
    assert (note["type"], note["data"], note["user"]) == (
        "note", {"text": "Looks like **the cache**"}, None,
    )  # fmt: skip
    assert call(server, "POST", comments, json={"text": "  "}).status_code == 400
    edited = server.api_put(f"{comments}{note['id']}/", {"text": "It was the cache"})
    assert edited["data"]["text"] == "It was the cache"
    assert [c["id"] for c in server.api_get(comments)] == [note["id"]]
    assert call(server, "DELETE", f"{comments}{note['id']}/").status_code == 204
    assert server.api_get(comments) == []
    assert call(server, "DELETE", f"{comments}{note['id']}/").status_code == 404


def test_merge_moves_events_and_new_events_follow(live_vedette: LiveVedette, org: str) -> None:
    server = live_vedette
    project = server.create_project(org=org)
    for kind, times in (("Alpha", 3), ("Beta", 2)):
        for _ in range(times):
            send_error(server, project, kind)
    server.wait_processed()
    issues = issues_by_title(server, project)
    alpha, beta = issues["Alpha"]["id"], issues["Beta"]["id"]

    merged = server.api_put(bulk_path(project, beta, alpha), {"merge": 1})
    assert merged == {"merge": {"parent": alpha, "children": [beta]}}
    assert server.api_get(issue_path(beta))["id"] == alpha  # the issue it went into
    assert server.api_get(issue_path(alpha))["count"] == "5"
    assert len(server.api_get(f"{issue_path(alpha)}events/")) == 5
    assert activity_types(server, alpha)[0] == "merge"

    send_error(server, project, "Beta")  # the child's fingerprint
    server.wait_processed()
    [only] = server.issues(project, "")
    assert (only["id"], only["count"]) == (alpha, "6")
    single = call(server, "PUT", bulk_path(project, alpha), json={"merge": 1})
    assert single.status_code == 400

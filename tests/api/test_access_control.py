"""Every API route, from the application's route table, walked with a token of another
organisation (nothing of ours is visible) and with the tokens of users of each role (each
answer is what the role allows)."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.routing import Route
from tests.conftest import LiveVedette, ProjectHandle
from tests.profiles.support import CHUNK_ID, PROFILE_ID, chunk, envelope_of, sampled
from tests.ui.conftest import vedette_cli

from vedette.api.route_scopes import ROUTE_RESOURCES
from vedette.app import create_app
from vedette.domain.roles import Role, at_least
from vedette.domain.scopes import ROLE_SCOPES, Resource, needed_scopes
from vedette.settings import Settings
from vedette.storage import accounts, users

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
ERROR = (CORPORA / "sdk-python" / "error_zero_division.envelope").read_bytes()
ERROR_ID = "48ff7871266a4a838ea1b6f0bffcf293"
# A transaction and a cron check-in too, so that the performance and monitor routes have
# something of ours to show (and to hide).
TRANSACTION = (CORPORA / "sdk-python" / "fastapi_transaction.1.envelope").read_bytes()
TRANSACTION_ID = "985ab7d2aa5045099766859c2c00474e"
TRACE_ID = "8a40b6121c054f27b9acde7022990d83"
CHECK_IN = (CORPORA / "sdk-python" / "crons_checkin.1.envelope").read_bytes()
# Routes about the token itself, not an organisation's data (sentry-cli info).
ABOUT_THE_TOKEN = {"/api/0/"}
# Query parameters some routes require (statsPeriod: the corpora's timestamps age).
PARAMS = {
    "/api/0/projects/{org}/{project}/profiling/flamegraph/": {
        "transaction": "GET /orders",
        "statsPeriod": "90d",
    },
    "/api/0/projects/{org}/{project}/transactions/summary/": {
        "transaction": "/orders/{order_id}",
        "statsPeriod": "90d",
    },
}


def api_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """(method, path template) of every JSON API route, from the application itself."""
    app = create_app(Settings(data_dir=tmp_path, worker_enabled=False))
    found = []
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/api/0/"):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append((method, route.path))
    return found


def test_the_walk_covers_the_route_table(tmp_path: Path) -> None:
    routes = api_routes(tmp_path)
    assert len(routes) >= 12
    assert ("PUT", "/api/0/issues/{issue_id}/") in routes


@dataclass(frozen=True)
class Seeded:
    """An organisation with something behind every route: the values of the path parameters."""

    project: ProjectHandle
    values: dict[str, str]


def fill(template: str, values: dict[str, str]) -> str:
    route_values = {**values, "event_id": TRANSACTION_ID} if "waterfall" in template else values
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: route_values[m.group(1)], template)


def seed(live_vedette: LiveVedette) -> Seeded:
    ours = live_vedette.create_project(org=f"ours-{uuid.uuid4().hex[:6]}")
    profiles = envelope_of(
        ({"type": "profile"}, orjson.dumps(sampled())),
        ({"type": "profile_chunk"}, orjson.dumps(chunk())),
    )
    for envelope in (ERROR, TRANSACTION, CHECK_IN, profiles):
        response = live_vedette.http.post(
            f"/api/{ours.id}/envelope/",
            content=envelope,
            headers={"X-Sentry-Auth": f"Sentry sentry_key={ours.public_key}"},
        )
        assert response.status_code == 200
    live_vedette.wait_processed()
    [issue] = live_vedette.issues(ours)
    rule = {"name": "Every error", "trigger": "frequency", "threshold": 1, "window": 600,
            "actions": [{"target": "webhook:https://hooks.example.com/h"}]}  # fmt: skip
    rules = f"/api/0/projects/{ours.org}/{ours.slug}/rules/"
    created = live_vedette.http.post(
        rules, json=rule, headers={"Authorization": f"Bearer {live_vedette.token}"}
    )
    assert created.status_code == 201, created.text  # an alert rule of ours, for its routes
    rule_id = created.json()["id"]
    release = live_vedette.http.post(
        f"/api/0/organizations/{ours.org}/releases/",
        json={"version": "1.0.0", "projects": [ours.slug]},
        headers={"Authorization": f"Bearer {live_vedette.token}"},
    )
    assert release.status_code == 201, release.text  # a release of ours, for its routes
    monitor = live_vedette.http.post(
        f"/api/0/projects/{ours.org}/{ours.slug}/uptime/",
        # A loopback target the server refuses to check (private targets are opt-in).
        json={"name": "Shop", "url": "http://127.0.0.1:9/health", "intervalSeconds": 3600},
        headers={"Authorization": f"Bearer {live_vedette.token}"},
    )
    assert monitor.status_code == 201, monitor.text  # a monitor of ours, for its routes

    values = {
        "org": ours.org,
        "project": ours.slug,
        "issue_id": issue["id"],
        "event_id": ERROR_ID,
        "key": ours.public_key,
        "which": "latest",
        "trace_id": TRACE_ID,
        "slug": "nightly-invoice",
        "rule_id": rule_id,
        "version": "1.0.0",
        "monitor_id": monitor.json()["id"],
        "note_id": "1",
        "profile_id": PROFILE_ID,
        "chunk_id": CHUNK_ID,
    }
    return Seeded(ours, {k: str(v) for k, v in values.items()})


@pytest.fixture(scope="module")
def seeded(live_vedette: LiveVedette) -> Seeded:
    return seed(live_vedette)


def test_another_organisation_sees_nothing(
    live_vedette: LiveVedette, seeded: Seeded, tmp_path: Path
) -> None:
    ours, values = seeded.project, seeded.values
    theirs_org = f"theirs-{uuid.uuid4().hex[:6]}"
    live_vedette.create_project(org=theirs_org)
    result = subprocess.run(
        [sys.executable, "-m", "vedette", "token", "create", "--org", theirs_org],
        env=live_vedette.env(), check=True, capture_output=True, text=True,
    )  # fmt: skip
    their_token = result.stdout.splitlines()[-1]
    bodies = {"/api/0/issues/{issue_id}/": {"status": "resolved"}, "keys": {"isActive": False}}
    walked = 0
    for method, template in api_routes(tmp_path):
        if template in ABOUT_THE_TOKEN:
            continue
        path = fill(template, values)
        body = bodies.get(template, bodies["keys"] if "keys" in template else None)
        params = PARAMS.get(template, {})
        response = live_vedette.http.request(
            method,
            path,
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {their_token}"},
        )
        assert response.status_code in (403, 404), (method, path, response.status_code)
        walked += 1
        # With our own (operator) token the same request is allowed: the walk is meaningful.
        if method == "GET":
            assert (
                live_vedette.http.get(
                    path,
                    params=params,
                    headers={"Authorization": f"Bearer {live_vedette.token}"},
                ).status_code
                == 200
            ), path
    assert walked >= 12
    still = live_vedette.issues(ours)
    assert still[0]["status"] == "unresolved", "their PUT changed nothing"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc"])
def test_bad_credentials_are_401(live_vedette: LiveVedette, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = live_vedette.http.get("/api/0/internal/spool/", headers=headers)
    assert response.status_code == 401


# -- the role walk ------------------------------------------------------------------------------

# Changes are sent to ids that do not exist (or with empty bodies), so an allowed change answers
# 400 or 404 and the walk leaves the organisation as it found it; refused ones answer 403 first.
NOTHING = {"key": "0" * 32, "rule_id": "999999", "monitor_id": "999999", "note_id": "999999",
           "version": "no-such-release"}  # fmt: skip
# The policy in Sentry's terms, written out apart from the scope tables: the lowest role that
# may call each of these routes with a token.
LOWEST_ROLE = [
    ("GET", "/api/0/projects/{org}/{project}/issues/", Role.VIEWER),
    ("GET", "/api/0/projects/{org}/{project}/rules/", Role.VIEWER),
    ("PUT", "/api/0/issues/{issue_id}/", Role.MEMBER),
    ("POST", "/api/0/issues/{issue_id}/comments/", Role.MEMBER),
    ("DELETE", "/api/0/issues/{issue_id}/comments/{note_id}/", Role.MEMBER),
    ("POST", "/api/0/projects/{org}/{project}/rules/", Role.MEMBER),
    ("POST", "/api/0/organizations/{org}/releases/", Role.MEMBER),
    ("POST", "/api/0/organizations/{org}/chunk-upload/", Role.MEMBER),
    ("POST", "/api/0/projects/{org}/{project}/keys/", Role.ADMIN),
    ("DELETE", "/api/0/projects/{org}/{project}/keys/{key}/", Role.ADMIN),
    ("PUT", "/api/0/projects/{org}/{project}/", Role.ADMIN),
    ("POST", "/api/0/projects/{org}/{project}/uptime/", Role.ADMIN),
    ("POST", "/api/0/organizations/{org}/teams/", Role.ADMIN),
    ("GET", "/api/0/organizations/{org}/audit-logs/", Role.VIEWER),
    ("PUT", "/api/0/organizations/{org}/", Role.MANAGER),
]


def role_allows(role: Role, method: str, template: str) -> bool:
    needed = needed_scopes(ROUTE_RESOURCES[template], method)
    return bool(needed & ROLE_SCOPES[role])


@pytest.mark.parametrize(("method", "template", "lowest"), LOWEST_ROLE)
def test_the_scope_tables_give_each_role_what_sentry_does(
    method: str, template: str, lowest: Role
) -> None:
    for role in Role:
        assert role_allows(role, method, template) == at_least(role, lowest), (role, template)


def status_of(
    server: LiveVedette, method: str, path: str, bearer: str, params: dict[str, str], body: Any
) -> int:
    headers = {"Authorization": f"Bearer {bearer}"}
    return server.http.request(method, path, json=body, params=params, headers=headers).status_code


def users_token(server: LiveVedette, email: str, org: str) -> str:
    """The user's token in ``org``, with every scope the role there allows (as the CLI makes
    it by default)."""
    done = vedette_cli(server, "token", "create", "--user", email, "--org", org)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


# Engine-neutral: roles and scopes are read the same way on both (the cross-organisation walk
# above runs on both).
@pytest.mark.parametrize("live_vedette", ["sqlite"], indirect=True)
def test_every_api_route_answers_each_role_as_it_allows(
    live_vedette: LiveVedette, seeded: Seeded, tmp_path: Path
) -> None:
    """Users of each role, members of two organisations, call every API route of one with their
    token of each: with the token of the route's organisation, what the role allows answers
    (GET: 200) and the rest 403; with the other organisation's token, nothing is there."""
    ours, values = seeded.project, seeded.values
    other = live_vedette.create_project(org=f"other-{uuid.uuid4().hex[:6]}")
    routes = api_routes(tmp_path)
    before = live_vedette.issues(ours)
    for role in Role:
        email = f"{role}-{uuid.uuid4().hex[:6]}@walk.test"
        with live_vedette.db.write() as conn:
            users.create_user(conn, email, "a long enough password", [ours.org, other.org],
                              role=role)  # fmt: skip
        token = users_token(live_vedette, email, ours.org)
        elsewhere = users_token(live_vedette, email, other.org)
        for method, template in routes:
            resource = ROUTE_RESOURCES[template]
            writes = method != "GET"
            path = fill(template, {**values, **NOTHING} if writes else values)
            params = PARAMS.get(template, {})
            body = {} if method in ("POST", "PUT") else None

            status = status_of(live_vedette, method, path, token, params, body)
            where = (role.value, method, template, status)
            if resource == Resource.TOKEN:
                assert status == 200, where
            elif resource == Resource.OPERATOR or not role_allows(role, method, template):
                assert status == 403, where
            elif writes:
                assert status not in (401, 403), where
            else:
                assert status == 200, where
            if resource not in (Resource.TOKEN, Resource.OPERATOR):
                # A token that may not do this anywhere is refused before the path is read.
                seen = status_of(live_vedette, method, path, elsewhere, params, body)
                assert seen == (404 if role_allows(role, method, template) else 403), where
    after = live_vedette.issues(ours)
    assert [(i["id"], i["status"], i["count"]) for i in after] == [
        (i["id"], i["status"], i["count"]) for i in before
    ], "the walk changed nothing"


def test_a_users_token_follows_the_role(live_vedette: LiveVedette, seeded: Seeded) -> None:
    """Lowering the role lowers the token at once; removing the member ends it."""
    ours = seeded.project
    email = f"moves-{uuid.uuid4().hex[:6]}@walk.test"
    with live_vedette.db.write() as conn:
        user = users.create_user(conn, email, "a long enough password", [ours.org],
                                 role=Role.ADMIN)  # fmt: skip
    token = users_token(live_vedette, email, ours.org)
    headers = {"Authorization": f"Bearer {token}"}
    keys = f"/api/0/projects/{ours.org}/{ours.slug}/keys/"
    me = live_vedette.http.get("/api/0/", headers=headers).json()
    assert me["user"]["email"] == email
    assert "project:write" in me["auth"]["scopes"]
    assert live_vedette.http.post(keys, json={"name": "ci"}, headers=headers).status_code == 201

    with live_vedette.db.read() as conn:
        org_id = accounts.organization_id(conn, ours.org)
    assert org_id is not None
    with live_vedette.db.write() as conn:
        assert users.set_role(conn, user.id, org_id, Role.VIEWER)
    assert live_vedette.http.post(keys, json={"name": "ci"}, headers=headers).status_code == 403
    assert live_vedette.http.get(keys, headers=headers).status_code == 200
    assert (
        "project:write"
        not in live_vedette.http.get("/api/0/", headers=headers).json()["auth"]["scopes"]
    )

    with live_vedette.db.write() as conn:
        assert users.remove_membership(conn, user.id, org_id)
    assert live_vedette.http.get(keys, headers=headers).status_code == 404


def test_a_user_cannot_give_a_token_more_than_the_role(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project(org=f"cap-{uuid.uuid4().hex[:6]}")
    email = f"viewer-{uuid.uuid4().hex[:6]}@walk.test"
    with live_vedette.db.write() as conn:
        users.create_user(conn, email, "a long enough password", [project.org], role=Role.VIEWER)
    done = vedette_cli(live_vedette, "token", "create", "--user", email, "--org", project.org,
                       "--scopes", "project:read event:write")  # fmt: skip
    assert done.returncode != 0
    assert "a viewer may not give a token event:write" in done.stderr


def test_a_comment_is_changed_by_its_author_only(live_vedette: LiveVedette) -> None:
    """A user's token writes comments as its user; another member's token may not change
    them, nor may a token of no user."""
    project = live_vedette.create_project(org=f"notes-{uuid.uuid4().hex[:6]}")
    emails = [f"{name}-{uuid.uuid4().hex[:6]}@notes.test" for name in ("ann", "bob")]
    with live_vedette.db.write() as conn:
        authors = [
            users.create_user(conn, email, "a long enough password", [project.org]).id
            for email in emails
        ]
    ann, bob = (users_token(live_vedette, email, project.org) for email in emails)
    live_vedette.http.post(
        f"/api/{project.id}/envelope/",
        content=ERROR,
        headers={"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"},
    )
    live_vedette.wait_processed()
    [issue] = live_vedette.issues(project)
    comments = f"/api/0/issues/{issue['id']}/comments/"

    def call(method: str, path: str, bearer: str, text: str | None = None) -> Any:
        body = {"text": text} if text is not None else None
        headers = {"Authorization": f"Bearer {bearer}"}
        return live_vedette.http.request(method, path, json=body, headers=headers)

    posted = call("POST", comments, ann, "ann's finding")
    assert posted.status_code == 201
    note = posted.json()
    assert note["user"]["id"] == str(authors[0])
    mine = f"{comments}{note['id']}/"
    assert call("PUT", mine, bob, "bob was here").status_code == 403
    assert call("DELETE", mine, bob).status_code == 403
    assert call("PUT", mine, live_vedette.token, "the operator").status_code == 403
    assert call("PUT", mine, ann, "ann's edit").json()["data"]["text"] == "ann's edit"
    assert call("DELETE", mine, ann).status_code == 204

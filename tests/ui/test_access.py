"""Who may see and change what, over HTTP without a browser: organisations, CSRF, sessions,
sign-in throttling, the first admin and the `vedette user` command."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.routing import Route
from tests.conftest import LiveVedette
from tests.profiles.support import PROFILE_ID, envelope_of, sampled
from tests.ui.conftest import (
    PASSWORD,
    Account,
    Visitor,
    World,
    make_account,
    send_envelope,
    signed_in,
)
from tests.ui.conftest import vedette_cli as cli

from vedette.alerts.rule_input import build_spec
from vedette.app import create_app
from vedette.settings import Settings
from vedette.storage import alert_rules, uptime
from vedette.uptime.spec import MonitorSpec, config_values
from vedette.web.ui import ROUTE_PREFIX

pytestmark = pytest.mark.e2e

OPEN_TO_EVERY_USER = {
    "/", "/settings/tokens/", "/settings/tokens/create/", "/logout/", "/login/",
    "/settings/password/", "/settings/2fa/", "/settings/2fa/setup/", "/settings/2fa/confirm/",
    "/settings/2fa/disable/",
}  # fmt: skip
PUBLIC = {
    "/status/{org}/",  # an organisation's status page: anyone's once enabled, tested apart
    # The links of account emails: their token is the secret (tests/workflow/test_members.py).
    "/invite/{token}/", "/password/reset/", "/password/reset/{token}/",
    "/login/code/",  # a sign-in's code step: its signed cookie ties it to the password step
}  # fmt: skip


_ROUTES: list[tuple[str, str]] = []


def ui_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """(method, path template) of every UI route, from the application itself (built once per
    session: the routes do not depend on the data)."""
    if not _ROUTES:
        app = create_app(Settings(data_dir=tmp_path, worker_enabled=False))
        for route in app.routes:
            if isinstance(route, Route) and (route.name or "").startswith(ROUTE_PREFIX):
                for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                    _ROUTES.append((method, route.path))
    return list(_ROUTES)


def test_the_walk_covers_every_page(tmp_path: Path) -> None:
    routes = ui_routes(tmp_path)
    assert len(routes) >= 20
    assert ("POST", "/p/{org}/{project}/issues/{issue_id:int}/status/") in routes


def create_token(visitor: Visitor, label: str) -> int:
    form = visitor.page("/settings/tokens/").form("/settings/tokens/create/")
    [org_id] = [v for v in form.options["organization"] if v]
    response = visitor.post(
        "/settings/tokens/create/",
        {
            "csrf_token": form.inputs["csrf_token"],
            "label": label,
            "organization": org_id,
            "scope": "project:read",
        },
    )
    assert response.status_code == 201
    ids = [
        int(m.group(1))
        for f in visitor.page("/settings/tokens/").forms
        if (m := re.fullmatch(r"/settings/tokens/(\d+)/revoke/", f.action))
    ]
    return max(ids)


RULE_FORM = {"name": "theirs", "when": "new_issue", "targets": "email:x@example.com"}


def create_rule(world: World) -> int:
    spec = build_spec(name="walk", when="new_issue", notify=["email:oncall@example.com"])
    with world.server.db.write() as conn:
        return alert_rules.create_rule(conn, world.ours.project.id, spec)


def create_monitor(world: World) -> int:
    values = config_values(
        MonitorSpec(name="walk", url="http://127.0.0.1:9/health", interval_seconds=3600)
    )
    with world.server.db.write() as conn:
        return uptime.create_monitor(conn, world.ours.project.id, values, 0.0)


def store_profile(world: World) -> str:
    """A transaction profile of ours, through ingest, for the profile page."""
    body = envelope_of(({"type": "profile"}, orjson.dumps(sampled())))
    send_envelope(world.server, world.ours.project, body)
    world.server.wait_processed()
    return PROFILE_ID


def fill(template: str, values: dict[str, Any]) -> str:
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: str(values[m.group(1)]), template)


def state_of(world: World, ours: Visitor, issue_id: object) -> dict[str, Any]:
    """What a walk must not change: the issue, the keys, the Apdex threshold, the tokens."""
    settings = ours.page(f"{world.ours.base}/settings/")
    return {
        "issue": [i["status"] for i in world.issues() if i["id"] == issue_id],
        "settings forms": sorted((f.action, sorted(f.inputs.items())) for f in settings.forms),
        "tokens": sorted(f.action for f in ours.page("/settings/tokens/").forms),
        "alert rules": sorted(f.action for f in ours.page(f"{world.ours.base}/alerts/").forms),
    }


def test_another_organisation_gets_404_on_every_page(world: World, tmp_path: Path) -> None:
    ours, theirs = signed_in(world.server, world.ours), signed_in(world.server, world.theirs)
    issue = world.issue_titled("ValueError")
    values = {
        "org": world.ours.project.org,
        "project": world.ours.project.slug,
        "issue_id": issue["id"],
        "event_id": world.xss_error_id,
        "trace_id": world.xss_trace_id,
        "key": world.ours.project.public_key,
        "token_id": create_token(ours, "walk"),
        "rule_id": create_rule(world),
        "monitor_id": create_monitor(world),
        "profile_id": store_profile(world),
        "link_id": 1,
        "invitation_id": 1,
        "user_id": 1,
        "team_id": 1,
    }
    bodies = {
        "/status/": {"status": "resolved"},
        "/bulk/": {"action": "resolved", "issue": str(issue["id"])},
        "/keys/create/": {"label": "theirs"},
        "/active/": {"active": "0"},
        "/rate-limit/": {"count": "1", "window": "60"},
        "/apdex/": {"threshold": "1"},
        "/snooze/": {"until": "forever"},
        "/alerts/create/": RULE_FORM,
        "/update/": RULE_FORM,
    }
    params = {
        "/summary/": {"transaction": "/orders/{order_id}"},
        "/profiling/": {"transaction": "GET /orders", "period": "30d"},
    }
    before = state_of(world, ours, issue["id"])
    their_token = theirs.page("/").csrf_token
    walked = 0
    for method, template in ui_routes(tmp_path):
        if template in OPEN_TO_EVERY_USER | PUBLIC:
            continue
        route_values = dict(values)
        if "/performance/events/" in template:
            route_values["event_id"] = world.xss_transaction_id
        path = fill(template, route_values)
        extra = next((p for k, p in params.items() if k in template), {})
        if method == "GET":
            response = theirs.get(path, **extra)
            assert response.status_code == 404, (path, response.status_code)
            mine = ours.get(path, **extra)
            assert mine.status_code == 200, (path, mine.status_code)  # a meaningful walk
        else:
            body = next((b for k, b in bodies.items() if template.endswith(k)), {})
            response = theirs.post(path, {**body, "csrf_token": their_token})
            assert response.status_code in (403, 404), (path, response.status_code)
        walked += 1
    assert walked >= 17
    assert state_of(world, ours, issue["id"]) == before

    # The pages every user has show only their own organisation.
    home = theirs.page("/")
    assert not any(link.startswith(world.ours.base) for link in home.links)
    assert world.ours.project.org not in home.text
    tokens = theirs.page("/settings/tokens/")
    assert f"/settings/tokens/{values['token_id']}/revoke/" not in [f.action for f in tokens.forms]
    assert tokens.form("/settings/tokens/create/").options["organization"] != []
    assert not set(tokens.form("/settings/tokens/create/").options["organization"]) & set(
        ours.page("/settings/tokens/").form("/settings/tokens/create/").options["organization"]
    )
    ours.close()
    theirs.close()


def test_signed_out_visitors_are_sent_to_sign_in(
    world: World, visitor: Visitor, tmp_path: Path
) -> None:
    values = {
        "org": world.ours.project.org,
        "project": world.ours.project.slug,
        "issue_id": 1,
        "event_id": world.xss_error_id,
        "trace_id": world.xss_trace_id,
        "key": world.ours.project.public_key,
        "token_id": 1,
        "rule_id": 1,
        "monitor_id": 1,
        "profile_id": PROFILE_ID,
        "link_id": 1,
        "invitation_id": 1,
        "user_id": 1,
        "team_id": 1,
    }
    for method, template in ui_routes(tmp_path):
        if template == "/login/" or template in PUBLIC:
            continue
        path = fill(template, values)
        if method == "GET":
            response = visitor.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login/?next=%2F"), path
        else:
            assert visitor.post(path, {"csrf_token": "x"}).status_code == 403, path


def test_forms_without_the_session_csrf_token_are_refused(world: World) -> None:
    ours, theirs = signed_in(world.server, world.ours), signed_in(world.server, world.ours)
    issue = world.issue_titled("ValueError")
    url = f"{world.ours.base}/issues/{issue['id']}/status/"
    other_session_token = theirs.page("/").csrf_token
    for token in (None, "", "forged", other_session_token):
        body = {"status": "ignored"} | ({"csrf_token": token} if token is not None else {})
        response = ours.post(url, body)
        assert response.status_code == 403, token
        assert "CSRF" in response.text
    assert world.issue_titled("ValueError")["status"] == issue["status"]
    token = ours.page(f"{world.ours.base}/issues/{issue['id']}/").csrf_token
    assert ours.post(url, {"status": "ignored", "csrf_token": token}).status_code == 303
    assert world.issue_titled("ValueError")["status"] == "ignored"
    assert ours.post(url, {"status": "unresolved", "csrf_token": token}).status_code == 303
    assert world.issue_titled("ValueError")["status"] == "unresolved"
    ours.close()
    theirs.close()


def test_sign_in_needs_its_own_csrf_cookie(world: World, visitor: Visitor) -> None:
    token = visitor.page("/login/").form("/login/").inputs["csrf_token"]
    form = {"email": world.ours.email, "password": world.ours.password}
    assert visitor.post("/login/", {**form, "csrf_token": "forged"}).status_code == 403
    visitor.http.cookies.clear()  # a cross-site form has our field but not our cookie
    assert visitor.post("/login/", {**form, "csrf_token": token}).status_code == 403


def test_session_cookie_flags_tampering_and_logout(world: World, visitor: Visitor) -> None:
    response = visitor.login(world.ours.email, world.ours.password)
    assert response.status_code == 303
    [cookie] = [
        c for c in response.headers.get_list("set-cookie") if c.startswith("vedette_session=")
    ]
    flags = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
    assert "httponly" in flags
    assert flags["samesite"].strip().lower() == "samesite=lax"
    assert flags["path"].strip() == "Path=/"
    assert "secure" not in flags  # http://127.0.0.1 (https base URLs get Secure, see below)
    assert visitor.get("/").status_code == 200

    value = visitor.http.cookies["vedette_session"]
    session_id, _, signature = value.rpartition(".")
    forged = Visitor(world.server)
    forged.http.cookies.set("vedette_session", f"{session_id}.{signature[::-1]}")
    assert forged.get("/").status_code == 303
    forged.http.cookies.set("vedette_session", session_id)
    assert forged.get("/").status_code == 303
    forged.close()

    token = visitor.page("/").csrf_token
    assert visitor.post("/logout/", {"csrf_token": token}).status_code == 303
    replay = Visitor(world.server)
    replay.http.cookies.set("vedette_session", value)  # the old cookie is dead server-side
    assert replay.get("/").status_code == 303
    replay.close()


def test_no_redirect_off_the_site_after_sign_in(world: World, visitor: Visitor) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"):
        response = visitor.login(world.ours.email, world.ours.password, target)
        assert response.headers["location"] == "/", target
        visitor.http.cookies.clear()
    response = visitor.login(world.ours.email, world.ours.password, f"{world.ours.base}/issues/")
    assert response.headers["location"] == f"{world.ours.base}/issues/"


def test_sign_in_is_throttled_after_five_failures(world: World, visitor: Visitor) -> None:
    account = make_account(world.server, "throttled")
    for _ in range(5):
        assert visitor.login(account.email, "wrong password").status_code == 401
    refused = visitor.login(account.email, account.password)
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.text
    # Only that email from this address: another account signs in.
    assert visitor.login(world.ours.email, world.ours.password).status_code == 303


def test_x_forwarded_for_does_not_move_a_throttled_client_unless_trusted(
    world: World, visitor: Visitor
) -> None:
    """The server trusts no proxy by default (VEDETTE_TRUST_FORWARDED_FOR off): uvicorn's own
    proxy-header handling would otherwise give each guess a fresh address."""
    account = make_account(world.server, "forwarded")
    for n in range(5):
        visitor.http.headers["X-Forwarded-For"] = f"203.0.113.{n}"
        assert visitor.login(account.email, "wrong password").status_code == 401
    visitor.http.headers["X-Forwarded-For"] = "198.51.100.7"
    assert visitor.login(account.email, account.password).status_code == 429


def test_parallel_wrong_passwords_are_throttled_like_sequential_ones(world: World) -> None:
    """The check and the count are one transaction per attempt: twenty at once still make
    five guesses, not twenty."""
    account = make_account(world.server, "parallel")
    visitors = [Visitor(world.server) for _ in range(20)]
    forms = [v.page("/login/").form("/login/").inputs["csrf_token"] for v in visitors]

    def guess(pair: tuple[Visitor, str]) -> int:
        visitor, token = pair
        fields = {"csrf_token": token, "email": account.email, "password": "wrong", "next": "/"}
        return visitor.post("/login/", fields).status_code

    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(guess, zip(visitors, forms, strict=True)))
    finally:
        for visitor in visitors:
            visitor.close()
    assert sorted(statuses) == [401] * 5 + [429] * 15


def test_serve_creates_the_first_admin_once(own_server: LiveVedette) -> None:
    own_server.create_project(slug="first", org=f"org-{uuid.uuid4().hex[:6]}")
    own_server.start()
    own_server.stop()
    own_server.start()
    log = own_server.log_path.read_text()
    assert log.count("Created the first admin") == 1
    email = re.search(r"email:\s+(\S+)", log)
    password = re.search(r"password:\s+(\S+)", log)
    assert email is not None and password is not None
    admin = Visitor(own_server)
    assert admin.login(email.group(1), password.group(1)).status_code == 303
    assert "/p/" in " ".join(admin.page("/").links)  # the admin sees every organisation
    admin.close()


def test_user_create_refuses_a_taken_email(world: World) -> None:
    taken = cli(world.server, "user", "create", world.ours.email.upper(), "--password", PASSWORD)
    assert taken.returncode != 0 and "exists already" in taken.stderr


def test_user_password_changes_the_password_and_ends_the_sessions(
    world: World, visitor: Visitor
) -> None:
    """An operator resetting a stolen account locks the thief out, as a reset in the web UI
    does."""
    account = make_account(world.server, "forgetful")
    thief = signed_in(world.server, account)
    try:
        assert thief.get("/").status_code == 200
        changed = cli(world.server, "user", "password", account.email, "--password", "new pw!!")
        assert changed.returncode == 0, changed.stderr
        assert thief.get("/").status_code == 303  # to the sign-in page
    finally:
        thief.close()
    assert visitor.login(account.email, account.password).status_code == 401
    assert visitor.login(account.email, "new pw!!").status_code == 303


def test_a_user_without_organisation_sees_no_project(world: World, visitor: Visitor) -> None:
    email = f"nobody-{uuid.uuid4().hex[:6]}@example.com"
    assert cli(world.server, "user", "create", email, "--password", PASSWORD).returncode == 0
    lonely = Account(email, PASSWORD, world.ours.project)
    assert visitor.login(lonely.email, lonely.password).status_code == 303
    assert not [link for link in visitor.page("/").links if link.startswith("/p/")]
    assert visitor.get(f"{world.ours.base}/issues/").status_code == 404

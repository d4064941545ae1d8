"""Every API route, walked with a token of another organisation: nothing of ours is visible."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from starlette.routing import Route
from tests.conftest import LiveVedette
from tests.profiles.support import CHUNK_ID, PROFILE_ID, chunk, envelope_of, sampled

from vedette.app import create_app
from vedette.settings import Settings

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


def test_another_organisation_sees_nothing(live_vedette: LiveVedette, tmp_path: Path) -> None:
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

    theirs_org = f"theirs-{uuid.uuid4().hex[:6]}"
    live_vedette.create_project(org=theirs_org)
    result = subprocess.run(
        [sys.executable, "-m", "vedette", "token", "create", "--org", theirs_org],
        env=live_vedette.env(), check=True, capture_output=True, text=True,
    )  # fmt: skip
    their_token = result.stdout.splitlines()[-1]
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
    bodies = {"/api/0/issues/{issue_id}/": {"status": "resolved"}, "keys": {"isActive": False}}
    walked = 0
    for method, template in api_routes(tmp_path):
        if template in ABOUT_THE_TOKEN:
            continue
        route_values = {**values, "event_id": TRANSACTION_ID} if "waterfall" in template else values
        path = re.sub(r"{(\w+)(?::\w+)?}", lambda m, v=route_values: v[m.group(1)], template)
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

"""DSN key rotation, per-key quotas (with the real SDK), read-only and revoked API tokens."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest
from tests.conftest import LiveVedette, ProjectHandle
from tests.e2e.test_rate_limits import SEND_TEN

from vedette.api.serialize import dsn
from vedette.cli import main
from vedette.storage import tokens


def keys_path(project: ProjectHandle) -> str:
    return f"/api/0/projects/{project.org}/{project.slug}/keys/"


def send_with(server: LiveVedette, project: ProjectHandle, public_key: str) -> httpx.Response:
    return server.http.post(
        f"/api/{project.id}/store/",
        content=b'{"message": "hello"}',
        headers={"X-Sentry-Auth": f"Sentry sentry_key={public_key}, sentry_version=7"},
    )


def call(
    server: LiveVedette, method: str, path: str, token: str, body: Any = None
) -> httpx.Response:
    return server.http.request(
        method, path, json=body, headers={"Authorization": f"Bearer {token}"}
    )


def test_a_key_is_rotated_create_switch_disable_delete(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    token = live_vedette.token
    created = call(live_vedette, "POST", keys_path(project), token, {"name": "2026-11"})
    assert created.status_code == 201
    new_key = created.json()["public"]
    assert created.json()["name"] == "2026-11"
    assert created.json()["dsn"]["public"] == dsn(live_vedette.base_url, new_key, project.id)
    assert send_with(live_vedette, project, new_key).status_code == 200
    assert send_with(live_vedette, project, project.public_key).status_code == 200

    old = f"{keys_path(project)}{project.public_key}/"
    assert call(live_vedette, "PUT", old, token, {"isActive": False}).json()["isActive"] is False
    assert send_with(live_vedette, project, project.public_key).status_code == 403
    assert call(live_vedette, "DELETE", old, token).status_code == 204
    assert call(live_vedette, "DELETE", old, token).status_code == 404
    assert send_with(live_vedette, project, project.public_key).status_code == 403
    assert [k["public"] for k in live_vedette.api_get(keys_path(project))] == [new_key]
    assert send_with(live_vedette, project, new_key).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"isActive": "no"},
        {"name": ""},
        {"rateLimit": {"count": 0, "window": 60}},
        {"rateLimit": {"count": 3}},
        {"rateLimit": {"count": 3, "window": 86401}},
        {"rateLimit": {"count": True, "window": 60}},
        {"rateLimit": [3, 60]},
    ],
)
def test_invalid_key_changes_are_400(live_vedette: LiveVedette, body: dict[str, Any]) -> None:
    project = live_vedette.create_project()
    path = f"{keys_path(project)}{project.public_key}/"
    response = call(live_vedette, "PUT", path, live_vedette.token, body)
    assert response.status_code == 400, response.text


def test_a_key_quota_makes_the_real_sdk_back_off(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    path = f"{keys_path(project)}{project.public_key}/"
    limit = {"count": 3, "window": 60}
    assert live_vedette.api_put(path, {"rateLimit": limit})["rateLimit"] == limit
    spare = call(live_vedette, "POST", keys_path(project), live_vedette.token).json()["public"]
    live_vedette.start_of_a_window()  # the key's window cannot end mid-test

    subprocess.run([sys.executable, "-c", SEND_TEN, project.dsn], check=True, timeout=60)
    live_vedette.wait_processed()

    stats = live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/stats/")
    assert stats["accepted"]["error"] == 3
    refused = send_with(live_vedette, project, project.public_key)
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert refused.headers["x-sentry-rate-limits"] == (
        f"{retry_after}:error;default;transaction;security:key"
    )
    assert send_with(live_vedette, project, spare).status_code == 200, "other keys are not limited"

    assert live_vedette.api_put(path, {"rateLimit": None})["rateLimit"] is None
    assert send_with(live_vedette, project, project.public_key).status_code == 200


def test_read_only_and_revoked_tokens(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    with live_vedette.db.write() as conn:
        reader = tokens.create_token(conn, "reader", read_only=True)
        writer = tokens.create_token(conn, "writer")
        writer_id = tokens.list_tokens(conn)[-1].id
    key_path = f"{keys_path(project)}{project.public_key}/"

    assert call(live_vedette, "GET", keys_path(project), reader).status_code == 200
    denied = call(live_vedette, "PUT", key_path, reader, {"isActive": False})
    assert denied.status_code == 403
    assert denied.json() == {
        "detail": "This token needs one of these scopes here: project:admin, project:write"
    }
    assert call(live_vedette, "POST", keys_path(project), reader).status_code == 403
    assert call(live_vedette, "PUT", key_path, writer, {"name": "renamed"}).status_code == 200

    with live_vedette.db.write() as conn:
        assert tokens.revoke_token(conn, writer_id)
        assert not tokens.revoke_token(conn, writer_id), "revoking twice reports nothing done"
    assert call(live_vedette, "GET", keys_path(project), writer).status_code == 401


def test_token_commands(
    live_vedette: LiveVedette, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VEDETTE_DATABASE_URL", live_vedette.database_url)
    main(["token", "create", "--read-only", "--label", "dashboards", "--org", "acme"])
    token = capsys.readouterr().out.splitlines()[-1]
    main(["token", "list"])
    listed = capsys.readouterr().out.splitlines()[-1].split("\t")
    assert listed[1:] == [
        "active", "acme", "-", "dashboards",
        "alerts:read event:read member:read org:read project:read team:read",
    ]  # fmt: skip
    assert (
        live_vedette.http.get(
            "/api/0/internal/spool/", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 403
    )  # an organisation's token, and read-only

    main(["token", "revoke", listed[0]])
    assert capsys.readouterr().out.strip() == f"token {listed[0]} revoked"
    with pytest.raises(SystemExit, match="no active token"):
        main(["token", "revoke", listed[0]])

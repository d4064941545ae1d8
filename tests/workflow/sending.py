"""What the workflow tests share: errors sent over HTTP to a live server, users and API calls
that answer with their status."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
from tests.conftest import LiveVedette, ProjectHandle

from vedette.domain.roles import Role
from vedette.storage import users

PASSWORD = "correct horse battery"


def send_error(
    server: LiveVedette, project: ProjectHandle, kind: str, release: str | None = None
) -> str:
    """One error event of the issue ``kind`` names (its fingerprint)."""
    event_id = uuid.uuid4().hex
    event: dict[str, Any] = {
        "event_id": event_id,
        "platform": "python",
        "level": "error",
        "fingerprint": [kind],
        "exception": {"values": [{"type": kind, "value": f"{kind} happened"}]},
    }
    if release:
        event["release"] = release
    payload = orjson.dumps(event)
    body = b"\n".join(
        [
            orjson.dumps({"event_id": event_id}),
            orjson.dumps({"type": "event", "length": len(payload)}),
            payload,
        ]
    )
    response = server.http.post(
        f"/api/{project.id}/envelope/",
        content=body,
        headers={"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"},
    )
    assert response.status_code == 200, response.text
    return event_id


def issues_by_title(server: LiveVedette, project: ProjectHandle) -> dict[str, dict[str, Any]]:
    """The project's issues of any status, by exception type."""
    found = server.issues(project, "")
    return {i["title"].partition(":")[0]: i for i in found}


def create_user(
    server: LiveVedette, org: str, password: str = PASSWORD, role: Role = Role.OWNER
) -> users.User:
    """A web UI user of ``org`` (an owner unless told), with an email of its own."""
    with server.db.write() as conn:
        return users.create_user(
            conn, f"{uuid.uuid4().hex[:8]}@{org}.test", password, [org], role=role
        )


def call(server: LiveVedette, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return server.http.request(
        method, path, headers={"Authorization": f"Bearer {server.token}"}, **kwargs
    )

"""The audit log: changes made in the UI (by a signed-in user) and through the API (by a token)
are recorded in the transaction of the change, listed newest first by the API and on the
organisation's audit page, and only to that organisation."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.conftest import LiveVedette
from tests.ui.conftest import make_account, signed_in

pytestmark = pytest.mark.e2e


def test_changes_are_recorded_with_who_made_them(live_vedette: LiveVedette) -> None:
    server = live_vedette
    account = make_account(server, "audited")
    project, org = account.project, account.project.org
    visitor = signed_in(server, account)
    try:
        settings = visitor.page(f"{account.base}/settings/")
        token = settings.csrf_token
        added = visitor.post(f"{account.base}/settings/keys/create/",
                             {"csrf_token": token, "label": "rotation"})  # fmt: skip
        assert added.status_code == 303
        visitor.post(f"{account.base}/settings/apdex/", {"csrf_token": token, "threshold": "450"})
        members = visitor.page(f"/o/{org}/members/")
        visitor.post(f"/o/{org}/members/invite/",
                     {"csrf_token": members.csrf_token, "email": "new@audited.test"})  # fmt: skip
        headers = {"Authorization": f"Bearer {server.token}"}
        rule = server.http.post(
            f"/api/0/projects/{org}/{project.slug}/rules/",
            json={"name": "Every new issue", "trigger": "new_issue",
                  "actions": [{"target": "email:ops@audited.test"}]},
            headers=headers,
        )  # fmt: skip
        assert rule.status_code == 201
        rows = server.api_get(f"/api/0/organizations/{org}/audit-logs/")["rows"]
        assert [(r["event"], r["actor"]["name"]) for r in rows] == [
            ("rule.add", "API token"),
            ("member.invite", account.email),
            ("project.edit", account.email),
            ("projectkey.create", account.email),
        ]
        assert rows[0]["note"] == f"{project.slug}: Every new issue"
        assert rows[2]["data"] == {"apdexThreshold": 450.0}
        assert rows[3]["note"].endswith("(rotation)")
        page = visitor.page(f"/o/{org}/audit/")
        assert "member.invite" in page.text and "new@audited.test" in page.text
    finally:
        visitor.close()

    other = server.create_project(org=f"{org}-other").org
    result = subprocess.run(
        [sys.executable, "-m", "vedette", "token", "create", "--org", other],
        env=server.env(), check=True, capture_output=True, text=True,
    )  # fmt: skip
    theirs = {"Authorization": f"Bearer {result.stdout.splitlines()[-1]}"}
    assert (
        server.http.get(f"/api/0/organizations/{org}/audit-logs/", headers=theirs).status_code
        == 404
    )

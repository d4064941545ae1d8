"""A user's API token, made on the tokens page, drives the real sentry-cli within the user's
role: a member's token creates a release and `sentry-cli info` names the member; a viewer may
not give a token the release scope, and a viewer's token is refused the release."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from tests.conftest import LiveVedette
from tests.releases.test_sentry_cli_pipeline import new_project, run_sentry_cli
from tests.ui.conftest import PASSWORD, Account, signed_in

from vedette.domain.roles import Role
from vedette.storage import users


def member(server: LiveVedette, org: str, role: Role) -> Account:
    email = f"{role}-{uuid.uuid4().hex[:6]}@tokens.test"
    with server.db.write() as conn:
        users.create_user(conn, email, PASSWORD, [org], role=role)
    return Account(email, PASSWORD, server.create_project(org=org))


def make_token(server: LiveVedette, account: Account, scopes: list[str]) -> tuple[int, str]:
    """Fill in the tokens page's form as the user: the answer's status and page."""
    visitor = signed_in(server, account)
    try:
        form = visitor.page("/settings/tokens/").form("/settings/tokens/create/")
        [org_id] = form.options["organization"]
        answer = visitor.post(
            "/settings/tokens/create/",
            {"csrf_token": form.inputs["csrf_token"], "label": "ci", "organization": org_id,
             "scope": scopes},
        )  # fmt: skip
        return answer.status_code, answer.text
    finally:
        visitor.close()


def token_of(page: str) -> str:
    found = re.search(r'id="new-token" class="mono" readonly value="([^"]+)"', page)
    assert found is not None, page[:2000]
    return found.group(1)


def test_a_members_token_runs_the_release_pipeline(
    live_vedette: LiveVedette, tmp_path: Path
) -> None:
    project = new_project(live_vedette)
    account = member(live_vedette, project.org, Role.MEMBER)
    status, page = make_token(
        live_vedette, account, ["project:releases", "project:read", "org:read"]
    )
    assert status == 201
    token = token_of(page)

    info = run_sentry_cli(live_vedette, project, "info", cwd=tmp_path, token=token)
    assert info.returncode == 0, info.stderr
    assert account.email in info.stdout
    assert "project:releases" in info.stdout
    done = run_sentry_cli(live_vedette, project, "releases", "new", "2.0.0", cwd=tmp_path,
                          token=token)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    listed = live_vedette.api_get(f"/api/0/organizations/{project.org}/releases/")
    assert [r["version"] for r in listed] == ["2.0.0"]


def test_a_viewers_token_cannot_release(live_vedette: LiveVedette, tmp_path: Path) -> None:
    project = new_project(live_vedette)
    account = member(live_vedette, project.org, Role.VIEWER)
    status, page = make_token(live_vedette, account, ["project:releases", "project:read"])
    assert status == 400
    assert "a viewer may not give a token project:releases" in page

    status, page = make_token(live_vedette, account, ["project:read", "org:read"])
    assert status == 201
    token = token_of(page)
    done = run_sentry_cli(live_vedette, project, "releases", "new", "2.0.0", cwd=tmp_path,
                          token=token)  # fmt: skip
    assert done.returncode != 0
    assert "403" in done.stdout + done.stderr
    assert live_vedette.api_get(f"/api/0/organizations/{project.org}/releases/") == []

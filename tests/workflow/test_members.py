"""Members and account emails, with a real SMTP receiver on loopback: an invitation's link makes
an account (or adds an existing one) once; a password reset link sets a new password once and
ends every session; a signed-in user changes their own password. The one-time tokens are also
checked in storage on both engines (used once, expired, withdrawn)."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pytest
from sqlalchemy import select
from tests.alerts.receivers import SmtpReceiver
from tests.conftest import LiveVedette
from tests.ui import pages
from tests.waiting import wait_for
from tests.workflow.conftest import text_of
from tests.workflow.sending import PASSWORD, create_user

from vedette.storage import account_tokens, accounts
from vedette.storage.account_tokens import INVITE_SECONDS, TokenKind
from vedette.storage.database import Database
from vedette.storage.schema import notifications

T0 = 1_800_000_000.0


def test_a_token_works_once_and_not_after_it_expires(db: Database) -> None:
    with db.write() as conn:
        token = account_tokens.create(conn, TokenKind.INVITE, "a@example.com", T0, None, None)
        late = account_tokens.create(conn, TokenKind.INVITE, "b@example.com", T0, None, None)
        reset = account_tokens.create(conn, TokenKind.RESET, "c@example.com", T0)
    with db.write() as conn:
        assert account_tokens.peek(conn, TokenKind.RESET, token, T0 + 1) is None  # other kind
        assert account_tokens.take(conn, TokenKind.INVITE, token, T0 + 1) is not None
        assert account_tokens.take(conn, TokenKind.INVITE, token, T0 + 2) is None  # used
        assert account_tokens.take(conn, TokenKind.INVITE, late, T0 + INVITE_SECONDS) is None
        assert account_tokens.take(conn, TokenKind.RESET, reset, T0 + 3601) is None
        assert account_tokens.take(conn, TokenKind.INVITE, "forged", T0 + 1) is None


def client_of(server: LiveVedette) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=30)


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    token = pages.parse(client.get("/login/").text).form("/login/").inputs["csrf_token"]
    return client.post(
        "/login/", data={"csrf_token": token, "email": email, "password": password, "next": "/"}
    )


def link_in_mail(smtp: SmtpReceiver, to: str, path: str) -> str:
    [mail] = wait_for(lambda: [m for m in smtp.mails if to in m.recipients])
    found = re.search(rf"https?://\S+{re.escape(path)}\S+/", text_of(mail))
    assert found is not None, text_of(mail)
    return found.group(0)


def outbox_urls(server: LiveVedette, email: str) -> list[str]:
    with server.db.read() as conn:
        rows = conn.execute(
            select(notifications.c.message).where(notifications.c.address == email)
        ).scalars()
        return [str(message["url"]) for message in rows]


def csrf(client: httpx.Client, path: str) -> str:
    return pages.parse(client.get(path).text).csrf_token


@pytest.mark.e2e
def test_an_invitation_makes_an_account_once(mail_server: LiveVedette, smtp: SmtpReceiver) -> None:
    server = mail_server
    org = f"team-{uuid.uuid4().hex[:6]}"
    project = server.create_project("web", org=org)
    admin = create_user(server, org)
    with client_of(server) as ours:
        assert sign_in(ours, admin.email).status_code == 303
        members = f"/o/{org}/members/"
        newcomer = f"new-{uuid.uuid4().hex[:6]}@example.com"
        sent = ours.post(f"{members}invite/", data={"csrf_token": csrf(ours, members),
                                                      "email": newcomer})  # fmt: skip
        assert sent.status_code == 200 and f"Invitation sent to {newcomer}" in sent.text
        assert newcomer in ours.get(members).text  # waiting for an answer
        link = link_in_mail(smtp, newcomer, "/invite/")
        assert link.startswith(server.base_url)
        # Delivered: the outbox no longer holds the link (a secret) in its copy of the message.
        wait_for(lambda: outbox_urls(server, newcomer) == [""])

    with client_of(server) as theirs:
        assert "Choose a password" in theirs.get(link).text
        differ = theirs.post(link, data={"password": "a" * 10, "password_again": "b" * 10})
        assert differ.status_code == 400
        joined = theirs.post(
            link, data={"password": "long enough", "password_again": "long enough"}
        )
        assert joined.status_code == 303
        assert f"{org} / {project.slug}" in theirs.get("/").text  # signed in, a member
    with client_of(server) as again:
        assert again.get(link).status_code == 404  # used
        assert (
            again.post(link, data={"password": "x" * 9, "password_again": "x" * 9}).status_code
            == 404
        )
        assert sign_in(again, newcomer, "long enough").status_code == 303

    # An existing account joins without a new password; a withdrawn invitation is gone.
    other = create_user(server, f"elsewhere-{uuid.uuid4().hex[:6]}")
    withdrawn = f"gone-{uuid.uuid4().hex[:6]}@example.com"
    with client_of(server) as ours:
        sign_in(ours, admin.email)
        for email in (other.email, withdrawn):
            ours.post(f"{members}invite/", data={"csrf_token": csrf(ours, members), "email": email})
        with server.db.read() as conn:
            org_id = accounts.find_project(conn, org, project.slug).organization_id  # type: ignore[union-attr]
            pending = account_tokens.pending_invitations(conn, org_id, time.time())
        [gone] = [i.id for i in pending if i.email == withdrawn]
        revoke = f"/o/{org}/invitations/{gone}/revoke/"
        assert ours.post(revoke, data={"csrf_token": csrf(ours, members)}).status_code == 303
    with client_of(server) as anyone:
        assert anyone.get(link_in_mail(smtp, withdrawn, "/invite/")).status_code == 404
    existing_link = link_in_mail(smtp, other.email, "/invite/")
    with client_of(server) as them:
        assert "This address has an account" in them.get(existing_link).text
        accepted = them.post(existing_link, data={"accept": "1"})  # as the form posts it
        assert accepted.headers["location"] == "/login/"
        sign_in(them, other.email)
        assert f"{org} / {project.slug}" in them.get("/").text
        # Removed from the organisation: its projects are no longer theirs to see.
        with client_of(server) as ours:
            sign_in(ours, admin.email)
            remove = f"/o/{org}/members/{other.id}/remove/"
            assert ours.post(remove, data={"csrf_token": csrf(ours, members)}).status_code == 303
        assert f"{org} / {project.slug}" not in them.get("/").text
        assert them.get(members).status_code == 404


@pytest.mark.e2e
def test_a_reset_link_sets_the_password_once(mail_server: LiveVedette, smtp: SmtpReceiver) -> None:
    server = mail_server
    org = f"reset-{uuid.uuid4().hex[:6]}"
    user = create_user(server, org)
    with client_of(server) as old_session:
        assert sign_in(old_session, user.email).status_code == 303
        with client_of(server) as anyone:
            for email in (user.email, user.email, "nobody@example.com"):
                answer = anyone.post("/password/reset/", data={"email": email})
                assert "If an account exists" in answer.text
        link = link_in_mail(smtp, user.email, "/password/reset/")  # one mail: one an hour
        assert [m for m in smtp.mails if "nobody@example.com" in m.recipients] == []
        with client_of(server) as anyone:
            set_it = anyone.post(link, data={"password": "a new secret", "password_again":
                                             "a new secret"})  # fmt: skip
            assert set_it.headers["location"] == "/login/"
            assert anyone.get(link).status_code == 404  # used
            assert sign_in(anyone, user.email).status_code == 401  # the old password
            assert sign_in(anyone, user.email, "a new secret").status_code == 303
        assert old_session.get("/").status_code == 303  # signed out everywhere


@pytest.mark.e2e
def test_a_user_changes_their_password(mail_server: LiveVedette) -> None:
    server = mail_server
    user = create_user(server, f"own-{uuid.uuid4().hex[:6]}")
    with client_of(server) as them:
        sign_in(them, user.email)
        token = csrf(them, "/settings/password/")
        new = {"csrf_token": token, "password": "brand new one", "password_again": "brand new one"}
        wrong = them.post("/settings/password/", data={**new, "current": "nope"})
        assert wrong.status_code == 400 and "current password is wrong" in wrong.text
        done = them.post("/settings/password/", data={**new, "current": PASSWORD})
        assert done.headers["location"] == "/login/"
        assert sign_in(them, user.email, "brand new one").status_code == 303

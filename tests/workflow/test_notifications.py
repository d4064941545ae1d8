"""The assignee hears of their issue by email (a real SMTP receiver on loopback): when someone
else assigns it to them and when it regresses; the link in the mail opens the issue."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from tests.alerts.receivers import SmtpReceiver
from tests.conftest import LiveVedette
from tests.ui import pages
from tests.waiting import wait_for
from tests.workflow.conftest import text_of
from tests.workflow.sending import PASSWORD, create_user, issues_by_title, send_error

from vedette.storage.schema import notifications


def signed_in(server: LiveVedette, email: str) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=30)
    token = pages.parse(client.get("/login/").text).form("/login/").inputs["csrf_token"]
    answer = client.post(
        "/login/", data={"csrf_token": token, "email": email, "password": PASSWORD, "next": "/"}
    )
    assert answer.status_code == 303, answer.text[:500]
    return client


def test_the_assignee_is_mailed_on_assignment_and_regression(
    mail_server: LiveVedette, smtp: SmtpReceiver
) -> None:
    server = mail_server
    project = server.create_project(org="mailers")
    ann = create_user(server, "mailers")
    send_error(server, project, "Checkout")
    server.wait_processed()
    issue = issues_by_title(server, project)["Checkout"]

    server.api_put(f"/api/0/issues/{issue['id']}/", {"assignedTo": ann.email})
    [assigned] = wait_for(lambda: [m for m in smtp.mails if ann.email in m.recipients])
    assert assigned.recipients == [ann.email]
    assert "Checkout" in assigned.message["Subject"]
    body = text_of(assigned)
    assert "Assigned to you by an API token" in body
    url = f"{server.base_url}/p/mailers/{project.slug}/issues/{issue['id']}/"
    assert url in re.findall(r"https?://\S+", body)
    client = signed_in(server, ann.email)
    try:
        page = client.get(url)
    finally:
        client.close()
    assert page.status_code == 200
    assert "Checkout happened" in pages.parse(page.text).text

    server.api_put(f"/api/0/issues/{issue['id']}/", {"status": "resolved"})
    send_error(server, project, "Checkout", release="shop@3.1")
    regressed = wait_for(lambda: [m for m in smtp.mails if "Regressed" in text_of(m)])
    assert [m.recipients for m in regressed] == [[ann.email]]
    assert "Regressed in shop@3.1" in text_of(regressed[0])
    assert url in text_of(regressed[0])
    # Every notice decided is in the outbox (written with the assignment and the regression):
    # exactly two for ann, both delivered, and no other mail reached her.
    statuses = wait_for(lambda: (s := outbox_statuses(server, ann.email)) == ["sent"] * 2 and s)
    assert statuses == ["sent", "sent"]
    assert len([m for m in smtp.mails if ann.email in m.recipients]) == 2


def outbox_statuses(server: LiveVedette, email: str) -> list[str]:
    with server.db.read() as conn:
        rows = conn.execute(
            select(notifications.c.status).where(notifications.c.address == email)
        ).scalars()
        return [str(r) for r in rows]

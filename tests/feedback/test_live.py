"""User feedback against a live server, on both engines: a ``user_report`` and a ``feedback``
item (with a screenshot) sent by the real sentry-sdk's transport, Sentry's REST endpoints, each
stored once, listed with the issue of its event, on the Feedback page and the issue page."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope, Item, PayloadRef
from tests.alerts.sdk import capture_error
from tests.conftest import LiveVedette
from tests.ui.conftest import Account, make_account, signed_in

from vedette.storage import queries

pytestmark = pytest.mark.e2e


def send(dsn: str, envelope: Envelope) -> None:
    """Through the SDK's own transport, as ``capture_envelope`` sends any envelope."""
    client = sentry_sdk.Client(dsn=dsn, default_integrations=False)
    try:
        assert client.transport is not None
        client.transport.capture_envelope(envelope)
    finally:
        client.close(timeout=10)


def user_report(event_id: str, comments: str) -> Envelope:
    report = {"event_id": event_id, "name": "Bob", "email": "bob@example.com", "comments": comments}
    return Envelope(
        headers={"event_id": event_id},
        items=[Item(payload=PayloadRef(json=report), type="user_report")],
    )


def feedback_with_screenshot(feedback_id: str, event_id: str, message: str) -> Envelope:
    event = {
        "event_id": feedback_id,
        "type": "feedback",
        "platform": "javascript",
        "release": "shop@3.1",
        "contexts": {
            "feedback": {
                "message": message,
                "contact_email": "ann@example.com",
                "name": "Ann",
                "url": "https://shop.example/checkout",
                "associated_event_id": event_id,
            }
        },
    }
    return Envelope(
        headers={"event_id": feedback_id},
        items=[
            Item(payload=PayloadRef(json=event), type="feedback"),
            Item(payload=b"\x89PNG fake", type="attachment", filename="screenshot.png"),
        ],
    )


@pytest.fixture
def account(live_vedette: LiveVedette) -> Account:
    return make_account(live_vedette, "feedback")


def listed(server: LiveVedette, account: Account) -> list[dict[str, Any]]:
    project = account.project
    rows: list[dict[str, Any]] = server.api_get(
        f"/api/0/projects/{project.org}/{project.slug}/user-feedback/"
    )
    return rows


def test_sdk_feedback_is_stored_once_and_linked_to_its_issue(
    live_vedette: LiveVedette, account: Account
) -> None:
    dsn = account.project.dsn
    event_id = capture_error(dsn, ZeroDivisionError("checkout total"))
    feedback_id = uuid.uuid4().hex
    for _ in range(2):  # sent twice: kept once
        send(dsn, user_report(event_id, "The total was wrong"))
        send(dsn, feedback_with_screenshot(feedback_id, event_id, "Checkout is broken"))
    live_vedette.wait_processed()

    rows = listed(live_vedette, account)
    assert sorted(r["comments"] for r in rows) == ["Checkout is broken", "The total was wrong"]
    [issue] = live_vedette.issues(account.project)
    for row in rows:
        assert row["eventID"] == event_id
        assert row["issue"]["id"] == issue["id"]
        assert row["dateCreated"].endswith("Z")
    widget = next(r for r in rows if r["source"] == "feedback")
    assert (widget["name"], widget["email"]) == ("Ann", "ann@example.com")
    with live_vedette.db.read() as conn:  # the screenshot is kept under the feedback's id
        screenshots = queries.event_attachments(conn, account.project.id, feedback_id)
    assert [a.name for a in screenshots] == ["screenshot.png"]

    visitor = signed_in(live_vedette, account)
    page = visitor.page(f"{account.base}/feedback/")
    assert "Checkout is broken" in page.text and "The total was wrong" in page.text
    assert f"{account.base}/issues/{issue['id']}/?event={event_id}" in page.links
    issue_page = visitor.page(f"{account.base}/issues/{issue['id']}/")
    assert "Checkout is broken" in issue_page.text
    visitor.close()


def test_the_rest_endpoint_and_the_error_page(live_vedette: LiveVedette, account: Account) -> None:
    project = account.project
    path = f"/api/0/projects/{project.org}/{project.slug}/user-feedback/"
    headers = {"Authorization": f"Bearer {live_vedette.token}"}
    event_id = uuid.uuid4().hex
    body = {"event_id": event_id, "name": "Cy", "email": "cy@example.com", "comments": "Slow"}
    created = live_vedette.http.post(path, json=body, headers=headers)
    assert created.status_code == 200, created.text
    assert created.json()["comments"] == "Slow" and created.json()["issue"] is None
    again = live_vedette.http.post(path, json=body, headers=headers)
    assert again.json()["id"] == created.json()["id"]
    bad = live_vedette.http.post(path, json={"event_id": event_id}, headers=headers)
    assert bad.status_code == 400

    page = live_vedette.http.post(
        "/api/embed/error-page/",
        params={"dsn": project.dsn, "eventId": event_id},
        data={"name": "Dee", "email": "dee@example.com", "comments": "It crashed"},
    )
    assert page.status_code == 200, page.text
    assert page.headers["access-control-allow-origin"] == "*"
    forged = live_vedette.http.post(
        "/api/embed/error-page/",
        params={"dsn": project.dsn.replace(project.public_key, "0" * 32), "eventId": event_id},
        data={"comments": "x"},
    )
    assert forged.status_code == 403
    sources = sorted(r["source"] for r in listed(live_vedette, account))
    assert sources == ["api", "error_page"]

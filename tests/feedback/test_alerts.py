"""Feedback drives alert rules: a ``feedback`` rule fires once per report, from the SDK's
``user_report`` item and from the REST API alike, and a report sent twice fires once. A real
HTTP receiver on loopback gets the webhooks."""

from __future__ import annotations

import json
import uuid

import pytest
from tests.alerts.receivers import HttpReceiver
from tests.alerts.sdk import capture_error
from tests.conftest import LiveVedette
from tests.feedback.test_live import send, user_report
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e


class Checkout(Exception):
    pass


def test_each_report_fires_the_feedback_rule_once(live_vedette: LiveVedette) -> None:
    server = live_vedette
    project = server.create_project()
    base = f"/api/0/projects/{project.org}/{project.slug}"
    headers = {"Authorization": f"Bearer {server.token}"}
    with HttpReceiver() as hooks:
        created = server.http.post(
            f"{base}/rules/",
            json={
                "name": "Tell support",
                "trigger": "feedback",
                "actions": [{"target": f"webhook:{hooks.url}/feedback"}],
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
        rule_id = created.json()["id"]
        refused = server.http.post(
            f"{base}/rules/",
            json={"name": "x", "trigger": "feedback", "filter": "level:error",
                  "actions": [{"target": f"webhook:{hooks.url}/x"}]},
            headers=headers,
        )  # fmt: skip
        assert refused.status_code == 400 and "no filter" in refused.text

        event_id = capture_error(project.dsn, Checkout("card declined"))
        server.wait_processed()
        [issue] = server.issues(project)
        report = user_report(event_id, "<b>The pay button</b> does nothing")
        send(project.dsn, report)
        send(project.dsn, report)  # the same report again: no second alert
        posted = server.http.post(
            f"{base}/user-feedback/",
            json={"event_id": uuid.uuid4().hex, "name": "Cy", "email": "cy@example.com",
                  "comments": "Where is my invoice?"},
            headers=headers,
        )  # fmt: skip
        assert posted.status_code == 200, posted.text
        server.wait_processed()
        deliveries = server.api_get(f"{base}/rules/{rule_id}/deliveries/")
        assert len(deliveries) == 2

        wait_for(lambda: len(hooks.requests) == 2)
        bodies = sorted((json.loads(r.body) for r in hooks.requests), key=lambda b: b["message"])
        button, invoice = bodies  # "<" sorts before "W"
        assert (button["kind"], button["message"]) == (
            "feedback",
            "<b>The pay button</b> does nothing",
        )
        assert button["reason"] == "New feedback from Bob"
        assert button["url"].endswith(f"/issues/{issue['id']}/")  # its event's issue
        assert button["short_id"] == issue["shortId"]
        assert invoice["reason"] == "New feedback from Cy"
        assert invoice["url"].endswith(f"/p/{project.org}/{project.slug}/feedback/")

"""The project settings page edits the data scrubbing settings the API serves, and its preview
shows what the saved rules would remove from a pasted event, storing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import orjson
from tests.alerts.sdk import capture_error
from tests.conftest import LiveVedette
from tests.privacy.corpus import SECRETS
from tests.ui.conftest import Account, Visitor, make_account, signed_in

RULES = {"applications": {"extra.coupon": ["@anything:remove"]}}


@contextmanager
def signed_in_as(server: LiveVedette, account: Account) -> Iterator[Visitor]:
    visitor = signed_in(server, account)
    try:
        yield visitor
    finally:
        visitor.close()


def test_the_page_saves_and_previews(live_vedette: LiveVedette) -> None:
    account = make_account(live_vedette, "privacy")
    with signed_in_as(live_vedette, account) as visitor:
        settings = f"{account.base}/settings/"
        form = visitor.page(settings).form(f"{settings}privacy/")
        saved = visitor.post(f"{settings}privacy/", {
            "csrf_token": form.inputs["csrf_token"], "data_scrubber": "1",
            "data_scrubber_defaults": "1", "scrub_ip_addresses": "1",
            "sensitive_fields": "order_note\ndelivery_code", "safe_fields": "",
            "relay_pii_config": orjson.dumps(RULES).decode(),
        })  # fmt: skip
        assert saved.status_code == 303
        project = account.project
        api = live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/")
        assert api["sensitiveFields"] == ["order_note", "delivery_code"]
        assert api["scrubIPAddresses"] is True and orjson.loads(api["relayPiiConfig"]) == RULES

        pasted = {
            "message": "hello",
            "extra": {"gateway": SECRETS["stripe-key"], "order_note": "ring twice", "coupon": "X1"},
            "user": {"id": "u1", "ip_address": "203.0.113.9"},
        }
        response = visitor.post(f"{settings}privacy/preview/", {
            "csrf_token": form.inputs["csrf_token"], "event": orjson.dumps(pasted).decode(),
        })  # fmt: skip
        assert response.status_code == 200, response.text[:500]
        html = response.text
        expected = [
            "extra.gateway",
            "@stripe-key:filter",
            "extra.order_note",
            "strip-fields",
            "extra.coupon",
            "@anything:remove",
            "user.ip_address",
            "@ip:remove",
        ]
        assert [removal for removal in expected if removal not in html] == []
        assert html.count(SECRETS["stripe-key"]) == 1  # in the pasted text only, not the result
        assert live_vedette.issues(project) == []  # a preview stores nothing


def test_the_page_refuses_rules_it_cannot_apply(live_vedette: LiveVedette) -> None:
    account = make_account(live_vedette, "privacy")
    with signed_in_as(live_vedette, account) as visitor:
        settings = f"{account.base}/settings/"
        token = visitor.page(settings).csrf_token
        response = visitor.post(f"{settings}privacy/", {
            "csrf_token": token, "relay_pii_config": '{"applications": {"$string": ["@nope"]}}',
        })  # fmt: skip
        assert response.status_code == 400 and "relayPiiConfig" in response.text
        bad = visitor.post(f"{settings}privacy/preview/", {"csrf_token": token, "event": "[1"})
        assert bad.status_code == 400


def test_the_preview_of_a_stored_event(live_vedette: LiveVedette) -> None:
    """What rules saved since would remove from an event stored before them."""
    account = make_account(live_vedette, "privacy")
    event_id = capture_error(
        account.project.dsn, ValueError("late rules"), user={"id": "u1", "email": "ada@example.com"}
    )
    live_vedette.wait_processed()
    with signed_in_as(live_vedette, account) as visitor:
        settings = f"{account.base}/settings/"
        token = visitor.page(settings).csrf_token
        rules = orjson.dumps({"applications": {"user.email": ["@email:mask"]}}).decode()
        saved = visitor.post(f"{settings}privacy/", {
            "csrf_token": token, "data_scrubber": "1", "data_scrubber_defaults": "1",
            "relay_pii_config": rules,
        })  # fmt: skip
        assert saved.status_code == 303
        response = visitor.post(
            f"{settings}privacy/preview/", {"csrf_token": token, "event": "", "event_id": event_id}
        )
        assert response.status_code == 200, response.text[:500]
        assert "user.email" in response.text and "@email:mask" in response.text
        missing = visitor.post(
            f"{settings}privacy/preview/", {"csrf_token": token, "event": "", "event_id": "f" * 32}
        )
        assert missing.status_code == 404

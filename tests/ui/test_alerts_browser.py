"""Alerts in the browser: create a rule in the UI, send a test notification, see it delivered
in the rule's history; mute an issue from its page."""

from __future__ import annotations

import orjson
import pytest
from playwright.sync_api import expect
from tests.alerts.receivers import HttpReceiver
from tests.ui.conftest import Tab, World

pytestmark = pytest.mark.e2e


def test_create_a_rule_send_a_test_notification_and_see_it_delivered(
    world: World, tab: Tab
) -> None:
    page = tab.page
    with HttpReceiver() as hooks:
        tab.sign_in(world.ours)
        page.goto(f"{world.ours.base}/alerts/")
        expect(page.get_by_role("heading", name="Alert rules")).to_be_visible()
        form = page.locator("form.alert-form")
        form.get_by_label("Name", exact=True).fill("Checkout <b>on fire</b>")
        form.locator("select[name=when]").select_option("frequency")
        form.get_by_label("Threshold", exact=True).fill("50")
        form.get_by_label("Window (s)", exact=True).fill("600")
        form.get_by_label("Filter", exact=True).fill("environment:production")
        form.get_by_label("Notify (one per line)", exact=True).fill(f"webhook:{hooks.url}/vedette")
        form.get_by_role("button", name="Create rule").click()

        expect(page.get_by_role("heading", name="Checkout <b>on fire</b>")).to_be_visible()
        expect(page.locator("tr.delivery")).to_have_count(0)
        page.get_by_role("button", name="Send test notification").click()
        status = page.locator("tr.delivery .delivery-status")
        expect(status).to_have_count(1)
        for _ in range(100):  # the dispatcher sends within its poll interval
            if status.inner_text() == "sent":
                break
            page.wait_for_timeout(100)
            page.reload()
        expect(status).to_have_text("sent")
        expect(page.locator("tr.delivery")).to_contain_text("200")
        [request] = hooks.requests
        body = orjson.loads(request.body)
        assert body["kind"] == "test"
        assert body["triggering_rules"] == ["Checkout <b>on fire</b>"]

        page.goto(f"{world.ours.base}/alerts/")
        expect(page.locator("table.alert-rules a", has_text="on fire")).to_have_count(1)
    assert tab.dialogs == [] and tab.csp_violations == []


def test_a_bad_rule_is_refused_with_the_reason(world: World, tab: Tab) -> None:
    page = tab.page
    tab.sign_in(world.ours)
    page.goto(f"{world.ours.base}/alerts/")
    form = page.locator("form.alert-form")
    form.get_by_label("Name", exact=True).fill("No target")
    form.get_by_label("Notify (one per line)", exact=True).fill("slack:ftp://nowhere")
    form.get_by_role("button", name="Create rule").click()
    expect(page.locator("form.alert-form .error")).to_contain_text("must be an http")
    expect(page.locator("form.alert-form").get_by_label("Name", exact=True)).to_have_value(
        "No target"
    )

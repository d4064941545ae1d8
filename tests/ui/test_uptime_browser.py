"""Uptime in the browser: create a monitor, see its first check, publish the organisation's
status page and read it signed out, without the monitor's URL."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from tests.conftest import LiveVedette
from tests.ui.conftest import Tab, World

pytestmark = pytest.mark.e2e

# A private address: the live server does not allow them, so the check runs and is refused.
SECRET_URL = "http://127.0.0.1:9/health?token=s3cret"


def test_create_a_monitor_and_see_it_on_the_public_status_page(
    world: World, tab: Tab, browser: Browser, live_vedette: LiveVedette
) -> None:
    page = tab.page
    tab.sign_in(world.ours)
    page.goto(f"{world.ours.base}/uptime/")
    expect(page.get_by_role("heading", name="Uptime monitors")).to_be_visible()
    form = page.locator("form.uptime-form")
    form.get_by_label("Name", exact=True).fill("Shop <i>health</i>")
    form.get_by_label("URL", exact=True).fill(SECRET_URL)
    form.get_by_label("Every (s)", exact=True).fill("30")
    form.get_by_label("Show on the organisation's public status page", exact=False).check()
    form.get_by_role("button", name="Create monitor").click()

    expect(page.get_by_role("heading", name="Shop <i>health</i>")).to_be_visible()
    first = page.locator("table tbody tr").first
    for _ in range(100):  # the worker's checker runs a new monitor within its poll interval
        if "refused" in first.inner_text():
            break
        page.wait_for_timeout(100)
        page.reload()
    expect(first).to_contain_text("refused")

    page.goto(f"{world.ours.base}/uptime/")
    ours = page.locator("section.monitor", has_text="Shop <i>health</i>")
    expect(ours).to_have_count(1)  # other tests of the session may add monitors of their own
    expect(ours.locator("svg.uptime-bars rect")).to_have_count(90)
    settings = page.locator("form", has=page.get_by_label("Published"))
    settings.get_by_label("Published").check()
    settings.get_by_label("Title").fill("Acme <b>status</b>")
    settings.get_by_role("button", name="Save").click()
    public_path = f"/status/{world.ours.project.org}/"
    expect(page.locator(f"a[href='{public_path}']")).to_have_count(1)

    stranger = browser.new_context(base_url=live_vedette.base_url)
    try:
        anonymous = stranger.new_page()
        answer = anonymous.goto(public_path)
        assert answer is not None and answer.status == 200
        expect(anonymous.get_by_role("heading", name="Acme <b>status</b>")).to_be_visible()
        expect(anonymous.locator("section.public-monitor h2")).to_have_text(["Shop <i>health</i>"])
        expect(anonymous.locator("svg.uptime-bars rect")).to_have_count(90)
        html = anonymous.content()
        assert "127.0.0.1:9" not in html and "s3cret" not in html
        unpublished = anonymous.goto(f"/status/{world.theirs.project.org}/")
        assert unpublished is not None and unpublished.status == 404
    finally:
        stranger.close()
    assert tab.dialogs == []

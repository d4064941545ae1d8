"""The profile pages: a real SDK's profile and a hostile one, signed in, over HTTP and in
Chromium; the flame graph names the functions, escapes what an SDK sent, and the transaction's
and the error's pages link to it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from tests.conftest import LiveVedette
from tests.profiles.conftest import HOSTILE_ID
from tests.profiles.support import only_transaction
from tests.ui.conftest import Account, Tab, signed_in

pytestmark = pytest.mark.e2e


def test_function_names_are_text_on_the_page(live_vedette: LiveVedette, profiled: Account) -> None:
    visitor = signed_in(live_vedette, profiled)
    try:
        response = visitor.get(f"{profiled.base}/profiles/{HOSTILE_ID}/")
        assert response.status_code == 200, response.text[:500]
        assert "<img" not in response.text
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;render" in response.text
        missing = visitor.get(f"{profiled.base}/profiles/{'0' * 32}/")
        assert missing.status_code == 404
        (issue,) = live_vedette.issues(profiled.project)
        issue_page = visitor.page(f"{profiled.base}/issues/{issue['id']}/")
        assert f"{profiled.base}/profiles/{HOSTILE_ID}/" in issue_page.links
    finally:
        visitor.close()


def test_the_flame_graph_pages_render_the_functions(
    live_vedette: LiveVedette, profiled: Account, tab: Tab
) -> None:
    transaction = only_transaction(live_vedette, profiled.project)
    page = tab.page
    tab.sign_in(profiled)
    page.goto(f"{profiled.base}/performance/events/{transaction['eventID']}/")
    page.locator("a.profile-link").click()
    expect(page.get_by_role("heading", name=re.compile("^Profile "))).to_be_visible()
    graph = page.locator("svg.flamegraph")
    expect(graph.locator("text", has_text="render_monthly_report")).to_have_count(1)
    expect(graph.locator("title", has_text="crunch_invoice_numbers").first).to_be_attached()

    page.goto(f"{profiled.base}/performance/summary/?transaction=monthly-report")
    page.locator("a.profiles-link").click()
    expect(page.get_by_role("heading", name="Profiles of monthly-report")).to_be_visible()
    slowest = page.locator("table.functions tbody tr").first
    expect(slowest).to_contain_text("crunch_invoice_numbers")
    assert tab.dialogs == [] and tab.csp_violations == []

"""The profile pages: a real SDK's profile and a hostile one, signed in, over HTTP and in
Chromium; the flame graph names the functions, escapes what an SDK sent, and the transaction's
pages link to it."""

from __future__ import annotations

import copy
import re

import orjson
import pytest
from playwright.sync_api import expect
from tests.conftest import LiveVedette
from tests.profiles.test_live import only_transaction, run_driver
from tests.profiles.test_processing import FRAMES, envelope_of, sampled
from tests.ui import pages
from tests.ui.conftest import Account, Tab, make_account, send_envelope, signed_in

pytestmark = pytest.mark.e2e

HOSTILE = '<img src=x onerror="alert(1)">render'
HOSTILE_ID = "0f" * 16


@pytest.fixture
def account(live_vedette: LiveVedette) -> Account:
    """A user's project holding the real SDK's transaction profile, a hostile one and an
    error naming the hostile one in its ``profile`` context."""
    found = make_account(live_vedette, "prof")
    run_driver("transaction", found.project)
    frames = copy.deepcopy(FRAMES)
    frames[0]["function"] = HOSTILE
    payload = sampled(event_id=HOSTILE_ID, timestamp=None)
    payload["profile"]["frames"] = frames
    error = {
        "event_id": "1e" * 16,
        "message": "report failed",
        "contexts": {"profile": {"type": "profile", "profile_id": HOSTILE_ID}},
    }
    body = envelope_of(
        ({"type": "profile"}, orjson.dumps(payload)),
        ({"type": "event"}, orjson.dumps(error)),
    )
    send_envelope(live_vedette, found.project, body)
    live_vedette.wait_processed()
    return found


def test_function_names_are_text_on_the_page(live_vedette: LiveVedette, account: Account) -> None:
    visitor = signed_in(live_vedette, account)
    try:
        response = visitor.get(f"{account.base}/profiles/{HOSTILE_ID}/")
        assert response.status_code == 200, response.text[:500]
        assert "<img" not in response.text
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;render" in response.text
        missing = visitor.get(f"{account.base}/profiles/{'0' * 32}/")
        assert missing.status_code == 404
        (issue,) = live_vedette.issues(account.project)
        issue_page = visitor.page(f"{account.base}/issues/{issue['id']}/")
        assert f"{account.base}/profiles/{HOSTILE_ID}/" in issue_page.links
    finally:
        visitor.close()


def test_the_flame_graph_pages_render_the_functions(
    live_vedette: LiveVedette, account: Account, tab: Tab
) -> None:
    transaction = only_transaction(live_vedette, account.project)
    page = tab.page
    tab.sign_in(account)
    page.goto(f"{account.base}/performance/events/{transaction['eventID']}/")
    page.locator("a.profile-link").click()
    expect(page.get_by_role("heading", name=re.compile("^Profile "))).to_be_visible()
    graph = page.locator("svg.flamegraph")
    expect(graph.locator("text", has_text="render_monthly_report")).to_have_count(1)
    expect(graph.locator("title", has_text="crunch_invoice_numbers").first).to_be_attached()

    page.goto(f"{account.base}/performance/summary/?transaction=monthly-report")
    page.locator("a.profiles-link").click()
    expect(page.get_by_role("heading", name="Profiles of monthly-report")).to_be_visible()
    slowest = page.locator("table.functions tbody tr").first
    expect(slowest).to_contain_text("crunch_invoice_numbers")
    assert tab.dialogs == [] and tab.csp_violations == []


def test_a_transaction_links_to_its_continuous_profile(live_vedette: LiveVedette) -> None:
    """The profiler's samples taken while the transaction ran, merged over its chunks."""
    found = make_account(live_vedette, "cont")
    run_driver("continuous", found.project)
    live_vedette.wait_processed()
    transaction = only_transaction(live_vedette, found.project)
    visitor = signed_in(live_vedette, found)
    try:
        waterfall = visitor.page(f"{found.base}/performance/events/{transaction['eventID']}/")
        (link,) = [x for x in waterfall.links if "/profiling/?profiler_id=" in x]
        response = visitor.http.get(link)  # Visitor.get's params would replace the query
        assert response.status_code == 200, response.text[:500]
        merged = pages.parse(response.text)
        assert "Continuous profile" in merged.text
        assert "render_monthly_report" in merged.text
        assert visitor.http.get(link.replace("&end=", "&end=x")).status_code == 400
    finally:
        visitor.close()

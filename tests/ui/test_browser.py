"""The UI in Debian's Chromium: sign in, search, read an issue, resolve it, open a waterfall.

Screenshots of the issue page and the waterfall go to tests/artifacts/ (kept by CI, not
committed).
"""

from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import expect
from tests.ui.conftest import ARTIFACTS, Tab, World, make_account, send_envelope
from tests.ui.xss import envelope

pytestmark = pytest.mark.e2e

CHECKOUT = "RuntimeError: checkout of order 7 failed"


def test_sign_in_search_open_an_issue_resolve_it_and_open_a_waterfall(
    world: World, tab: Tab
) -> None:
    page = tab.page
    ours = world.ours

    # Signing in starts from any page: it comes back to it.
    page.goto("/")
    expect(page).to_have_url(f"{world.server.base_url}/login/?next=%2F")
    tab.sign_in(ours)
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    cards = page.locator("article.project-card h2")
    expect(cards).to_have_count(1)  # their project stays theirs
    expect(cards).to_have_text(f"{ours.project.org} / {ours.project.slug}")
    dsn = page.locator(f"#dsn-{ours.project.id}")
    expect(dsn).to_have_value(ours.project.dsn)

    # The issue list, searched by a tag.
    page.locator("article.project-card").get_by_role("link", name="Issues").click()
    expect(page.get_by_role("heading", name="Issues")).to_be_visible()
    expect(page.locator("tr.issue-row")).not_to_have_count(0)
    page.get_by_role("searchbox", name="Search issues").fill("tenant:acme-corp")
    page.get_by_role("button", name="Search").click()
    titles = page.locator("tr.issue-row .issue-title > a")
    expect(titles.filter(has_text=CHECKOUT)).to_have_count(1)
    expect(titles.filter(has_text="database ping timed out")).to_have_count(0)  # tenant globex
    page.get_by_role("searchbox", name="Search issues").fill("tenant:globex")
    page.get_by_role("button", name="Search").click()
    expect(titles.filter(has_text="ValueError: database ping timed out")).to_have_count(1)
    expect(titles.filter(has_text=CHECKOUT)).to_have_count(0)
    page.get_by_role("searchbox", name="Search issues").fill("tenant:acme-corp")
    page.get_by_role("button", name="Search").click()

    # The issue: chained exceptions newest last, frames, local variables.
    titles.filter(has_text=CHECKOUT).click()
    expect(page.locator("h1.issue-title-text")).to_have_text(CHECKOUT)
    expect(page.locator(".exception .exc-type")).to_have_text(["PaymentDeclined", "RuntimeError"])
    charge = page.locator(".frame.in-app", has=page.locator("summary .fn", has_text="charge"))
    expect(charge).to_have_count(1)
    expect(charge.locator("> details")).to_have_attribute("open", "")  # the crashing frame
    expect(charge.locator("ol.context li.current")).to_contain_text("raise PaymentDeclined")
    variables = charge.locator("details.vars")
    expect(variables.locator("table")).not_to_be_visible()
    variables.locator("summary").click()
    expect(variables.locator("table")).to_be_visible()
    expect(variables.locator("th", has_text="gateway_reply")).to_be_visible()
    expect(variables.locator("td", has_text="card_declined")).to_be_visible()

    # Framework frames are hidden until asked for.
    trace = page.locator(".stacktrace", has=page.locator(".frame.system")).first
    expect(trace.locator(".frame.system").first).to_be_hidden()
    trace.locator("input.full-trace").check()
    expect(trace.locator(".frame.system").first).to_be_visible()

    # What else the event carries.
    expect(page.locator(".breadcrumbs .crumb-message")).to_contain_text(
        ["buyer signed in", "charging the card"]
    )
    expect(page.locator(".request-line a")).to_have_attribute("href", "http://testserver/orders/7")
    expect(page.locator("a.trace-link")).to_have_count(1)
    expect(page.locator(".tags-card h3", has_text="tenant")).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"issue-{world.server.backend}.png"), full_page=True)

    # Resolve it.
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator("#issue-status")).to_have_text("resolved")
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    [issue] = [i for i in world.issues("is:resolved") if i["title"] == CHECKOUT]
    assert issue["status"] == "resolved"

    # The trace of the failed request leads to its transaction's waterfall.
    page.locator("a.trace-link").click()
    expect(page.locator("h1")).to_contain_text("Trace")
    expect(page.get_by_role("link", name=CHECKOUT)).to_be_visible()  # the error, in its trace
    page.locator(".span-row").first.locator("summary").click()
    page.locator(".span-detail a").first.click()
    waterfall = page.locator(".waterfall .span-row")
    expect(waterfall).to_have_count(7)  # the request and six queries
    expect(page.locator(".span-row.op-db")).to_have_count(6)
    expect(page.locator(".span-row.n-plus-one")).to_have_count(6)
    expect(page.locator(".n-plus-one-notice")).to_contain_text("N+1")
    query = page.locator(".span-row.op-db").first
    query.locator("summary").click()
    expect(query.locator("pre.sql")).to_contain_text("SELECT * FROM order_lines")
    page.screenshot(path=str(ARTIFACTS / f"waterfall-{world.server.backend}.png"), full_page=True)
    assert tab.dialogs == [] and tab.csp_violations == []


def test_performance_pages_from_the_transactions_table(world: World, tab: Tab) -> None:
    page = tab.page
    tab.sign_in(world.ours)
    page.goto(f"{world.ours.base}/performance/")
    row = page.locator("table.transactions tbody tr", has_text="/orders/{order_id}")
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    expect(page.locator("h1")).to_have_text("/orders/{order_id}")
    expect(page.locator("svg.bars rect")).not_to_have_count(0)
    page.locator("table.segments a").first.click()
    expect(page.locator(".span-row.n-plus-one")).to_have_count(6)
    page.goto(f"{world.ours.base}/queries/")
    expect(page.locator("table.queries pre.sql", has_text="FROM order_lines")).to_have_count(1)
    [n_plus_one] = [
        i
        for i in world.issues()
        if i["type"] == "performance_n_plus_one_db_queries" and i["culprit"] == "/orders/{order_id}"
    ]
    page.goto(f"{world.ours.base}/issues/{n_plus_one['id']}/")
    expect(page.locator(".performance-evidence")).to_contain_text("6 spans")
    page.locator("a.waterfall-link").click()
    expect(page.locator(".span-row.n-plus-one")).to_have_count(6)
    page.goto(f"{world.ours.base}/releases/")
    expect(page.locator("table.releases")).to_contain_text("shop@2.0.0")
    assert tab.dialogs == [] and tab.csp_violations == []


@pytest.mark.parametrize("width", [390, 768])
def test_pages_fit_a_phone_width(world: World, tab: Tab, width: int) -> None:
    tab.page.set_viewport_size({"width": width, "height": 844})
    tab.sign_in(world.ours)
    issue = world.issue_titled("ValueError")
    for path in (
        "/",
        f"{world.ours.base}/issues/?query=",
        f"{world.ours.base}/issues/{issue['id']}/",
        f"{world.ours.base}/performance/",
        f"{world.ours.base}/settings/",
    ):
        tab.page.goto(path)
        overflow = tab.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)


def test_bulk_ignore_and_reopen_from_the_list(world: World, tab: Tab) -> None:
    page = tab.page
    tab.sign_in(world.ours)
    page.goto(f"{world.ours.base}/issues/?query=is%3Aunresolved+tenant%3Aglobex")
    rows = page.locator("tr.issue-row")
    expect(rows).to_have_count(1)
    page.locator("input.select-all").check()  # vedette.js ticks every row
    expect(rows.locator("input[name=issue]")).to_be_checked()
    page.get_by_role("button", name="Ignore").click()
    expect(rows).to_have_count(0)
    assert world.issue_titled("ValueError")["status"] == "ignored"
    page.get_by_role("searchbox", name="Search issues").fill("is:ignored tenant:globex")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    rows.locator("input[name=issue]").check()
    page.get_by_role("button", name="Reopen").click()
    expect(rows).to_have_count(0)
    assert world.issue_titled("ValueError")["status"] == "unresolved"


def test_the_list_pages_through_many_issues(world: World, tab: Tab) -> None:
    account = make_account(world.server, "many")
    for n in range(27):
        event = {
            "event_id": uuid.uuid4().hex,
            "timestamp": time.time() - 60 + n,  # first seen in this order
            "level": "warning",
            "message": f"distinct problem number {n}",
            "fingerprint": [f"problem-{n}"],
            "tags": {"batch": "paging"},
        }
        send_envelope(world.server, account.project, envelope("event", event))
    world.server.wait_processed()
    tab.sign_in(account)
    page = tab.page
    page.goto(f"{account.base}/issues/?sort=new")
    rows = page.locator("tr.issue-row")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("distinct problem number 26")
    expect(page.locator(".pager")).to_contain_text("issues 1 to 25")
    page.get_by_role("link", name="Next").click()
    expect(rows).to_have_count(2)
    expect(page.locator(".pager")).to_contain_text("issues 26 to 27")
    expect(rows.last).to_contain_text("distinct problem number 0")
    page.get_by_role("link", name="Previous").click()
    expect(rows).to_have_count(25)

"""Unmerging in the browser: a merged issue's old page leads to the issue it went into, whose
grouping hashes page unmerges the other issue's hash back into an issue of its own."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from tests.ui.conftest import Tab, World, make_account, signed_in
from tests.workflow.sending import issues_by_title, send_error

pytestmark = pytest.mark.e2e


def test_a_merged_issue_is_unmerged_from_its_hashes_page(world: World, tab: Tab) -> None:
    server, page = world.server, tab.page
    account = make_account(server, "unmerge")
    project = account.project
    for kind, times in (("Checkout", 3), ("Payment", 2)):
        for _ in range(times):
            send_error(server, project, kind)
    server.wait_processed()
    issues = issues_by_title(server, project)
    checkout, payment = issues["Checkout"]["id"], issues["Payment"]["id"]
    bulk = f"/api/0/projects/{project.org}/{project.slug}/issues/?id={checkout}&id={payment}"
    assert server.api_put(bulk, {"merge": 1})["merge"]["parent"] == checkout

    # The merged issue's old link leads to the issue it went into (a redirect, query kept).
    visitor = signed_in(server, account)
    try:
        moved = visitor.get(f"{account.base}/issues/{payment}/", period="30d")
        assert moved.status_code == 302
        assert moved.headers["location"] == f"{account.base}/issues/{checkout}/?period=30d"
    finally:
        visitor.close()

    tab.sign_in(account)
    page.goto(f"{account.base}/issues/{payment}/")
    expect(page).to_have_url(re.compile(rf"/issues/{checkout}/$"))
    page.get_by_role("link", name="Grouping hashes").click()
    rows = page.locator("#hashes tr.hash-row")
    expect(rows).to_have_count(2)
    payment_row = rows.filter(has_text="Payment: Payment happened")
    expect(payment_row.locator("td.num")).to_have_text("2")
    payment_row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Unmerge").click()

    expect(page.locator("h1.issue-title-text")).to_have_text("Payment: Payment happened")
    expect(page.locator("#activity ol.activity li").first).to_contain_text(
        f"{account.email} unmerged this issue from issue {checkout}"
    )
    counts = {title: i["count"] for title, i in issues_by_title(server, project).items()}
    assert counts == {"Checkout": "3", "Payment": "2"}
    page.goto(f"{account.base}/issues/{checkout}/")
    expect(page.locator("#activity ol.activity li").first).to_contain_text(
        "unmerged 1 grouping hash into issue"
    )
    assert tab.dialogs == [] and tab.csp_violations == []

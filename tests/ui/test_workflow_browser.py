"""Assigning and commenting in the browser: the issue page's assignee picker, a Markdown comment
(with hostile parts shown as text) edited and deleted by its author, the activity stream, and
bulk assignment from the list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.ui.conftest import Tab, World, make_account
from tests.workflow.sending import call, issues_by_title, send_error

pytestmark = pytest.mark.e2e

HOSTILE_COMMENT = (
    "Looks like **the cache**. <script>alert(1)</script> [click](javascript:alert(1)) "
    "[docs](https://develop.sentry.dev/)"
)


def test_assign_comment_and_bulk_assign(world: World, tab: Tab) -> None:
    server, page = world.server, tab.page
    account = make_account(server, "workflow")
    project = account.project
    for kind in ("Checkout", "Payment"):
        send_error(server, project, kind)
    server.wait_processed()
    issues = issues_by_title(server, project)
    checkout = issues["Checkout"]["id"]
    created = call(server, "POST", f"/api/0/organizations/{project.org}/teams/",
                   json={"slug": "payments", "members": [account.email]})  # fmt: skip
    assert created.status_code == 201, created.text

    tab.sign_in(account)
    page.goto(f"{account.base}/issues/{checkout}/")
    picker = page.locator("form.assign")
    picker.get_by_label("Assignee").select_option(label=account.email)
    picker.get_by_role("button", name="Assign").click()
    activity = page.locator("#activity ol.activity")
    expect(activity.locator("li").first).to_contain_text(
        f"{account.email} assigned the issue to {account.email}"
    )
    expect(page.locator("form.assign select option:checked")).to_have_text(account.email)

    page.locator("#comment-text").fill(HOSTILE_COMMENT)
    page.get_by_role("button", name="Comment").click()
    note = page.locator("#activity .note").first
    expect(note.locator("strong")).to_have_text("the cache")
    expect(note).to_contain_text("<script>alert(1)</script>")
    expect(note.locator("script")).to_have_count(0)
    expect(note.locator("a")).to_have_count(1)
    expect(note.locator("a")).to_have_attribute("href", "https://develop.sentry.dev/")
    [comment] = server.api_get(f"/api/0/issues/{checkout}/comments/")
    assert comment["data"]["text"] == HOSTILE_COMMENT
    assert comment["user"]["email"] == account.email

    own = page.locator("#activity li.activity-note")
    own.locator("summary", has_text="Edit").click()
    own.get_by_label("Edit comment").fill("It was *the cache*")
    own.get_by_role("button", name="Save").click()
    expect(page.locator("#activity .note em")).to_have_text("the cache")
    [edited] = server.api_get(f"/api/0/issues/{checkout}/comments/")
    assert edited["data"]["text"] == "It was *the cache*"

    page.locator("#activity li.activity-note").get_by_role("button", name="Delete").click()
    expect(page.locator("#activity .note")).to_have_count(0)
    assert server.api_get(f"/api/0/issues/{checkout}/comments/") == []

    page.goto(f"{account.base}/issues/?query=assigned:me")
    rows = page.locator("tr.issue-row")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.assignee")).to_have_text(account.email)

    page.goto(f"{account.base}/issues/")
    page.get_by_label("Select all issues").check()
    page.get_by_label("Assign selected issues to").select_option(label="#payments")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("tr.issue-row td.assignee")).to_have_text(["#payments", "#payments"])
    assert {i["assignedTo"]["name"] for i in issues_by_title(server, project).values()} == {
        "payments"
    }
    assert tab.dialogs == [] and tab.csp_violations == []

"""Issue trackers: the tracker settings, the "Create GitHub / GitLab / Jira issue" buttons (the
tracker's own new-issue form, pre-filled) and the tracker URLs linked to an issue."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from tests.alerts.sdk import capture_error
from tests.conftest import LiveVedette
from tests.ui.conftest import make_account, signed_in

from vedette.domain.trackers import (
    IssueSummary,
    TrackerError,
    TrackerSettings,
    attached_url,
    frame_lines,
    issue_body,
    new_issue_links,
    settings_from_form,
)

ISSUE = IssueSummary(
    short_id="SHOP-1A",
    title="KeyError: 'charge'",
    culprit="shop.payments in charge",
    url="https://vedette.example/p/acme/shop/issues/46/",
    frames=["shop/payments.py in charge at line 12", "shop/routes.py in checkout at line 40"],
)


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({}, TrackerSettings()),
        (
            {"github_repo": " https://github.com/acme/shop/ ", "jira_base": "https://acme.atlassian.net",
             "jira_project_id": "10000", "jira_issue_type": ""},
            TrackerSettings("https://github.com/acme/shop", None, "https://acme.atlassian.net",
                            "10000", None),
        ),
        ({"gitlab_project": "https://git.acme.test/group/sub/shop"},
         TrackerSettings(gitlab_project="https://git.acme.test/group/sub/shop")),
    ],
)  # fmt: skip
def test_settings_are_checked(form: dict[str, str], expected: TrackerSettings) -> None:
    assert settings_from_form(form) == expected


@pytest.mark.parametrize(
    "form",
    [
        {"github_repo": "javascript:alert(1)//github.com/a/b"},
        {"github_repo": "https://github.com/acme"},  # no repository
        {"gitlab_project": "https://gitlab.com/a/b?private_token=x"},
        {"jira_base": "https://acme.atlassian.net"},  # no project id
        {"jira_base": "https://acme.atlassian.net", "jira_project_id": "ten"},
        {"jira_base": "ftp://acme.example", "jira_project_id": "1"},
    ],
)
def test_bad_settings_are_refused(form: dict[str, str]) -> None:
    with pytest.raises(TrackerError):
        settings_from_form(form)


def test_the_forms_are_prefilled() -> None:
    settings = TrackerSettings(
        "https://github.com/acme/shop", "https://gitlab.com/acme/shop",
        "https://acme.atlassian.net", "10000", "10001",
    )  # fmt: skip
    links = dict(new_issue_links(settings, ISSUE))
    github = urlsplit(links["Create GitHub issue"])
    assert github.netloc + github.path == "github.com/acme/shop/issues/new"
    query = parse_qs(github.query)
    assert query["title"] == ["SHOP-1A: KeyError: 'charge'"]
    assert ISSUE.url in query["body"][0] and "shop/payments.py in charge" in query["body"][0]
    gitlab = parse_qs(urlsplit(links["Create GitLab issue"]).query)
    assert gitlab["issue[title]"] == query["title"]
    jira = urlsplit(links["Create Jira issue"])
    assert jira.path == "/secure/CreateIssueDetails!init.jspa"
    assert {k: v[0] for k, v in parse_qs(jira.query).items() if k != "description"} == {
        "pid": "10000", "issuetype": "10001", "summary": "SHOP-1A: KeyError: 'charge'",
    }  # fmt: skip
    assert new_issue_links(TrackerSettings(), ISSUE) == []


def test_the_body_is_bounded() -> None:
    long = IssueSummary("S-1", "t", "c" * 10_000, "https://v.example/i/1/", ["f"] * 100)
    assert len(issue_body(long)) <= 3000


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://github.com/acme/shop/issues/42", "github"),
        ("https://gitlab.acme.test/g/p/-/issues/7", "gitlab"),
        ("https://acme.atlassian.net/browse/SHOP-12", "jira"),
        ("https://tracker.acme.test/ticket/9", "link"),
    ],
)
def test_linked_urls_are_told_apart(url: str, kind: str) -> None:
    assert attached_url(f" {url} ") == (url, kind)


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,x", "//github.com/a", "https://x/" + "a" * 2000]
)
def test_only_web_links_are_linked(url: str) -> None:
    with pytest.raises(TrackerError):
        attached_url(url)


def test_frame_lines_are_the_in_app_frames_innermost_first() -> None:
    event = {"exception": {"values": [{"stacktrace": {"frames": [
        {"filename": "shop/routes.py", "function": "checkout", "lineno": 40, "in_app": True},
        {"filename": "fastapi/routing.py", "function": "run", "lineno": 1, "in_app": False},
        {"filename": "shop/payments.py", "function": "charge", "lineno": 12, "in_app": True},
    ]}}]}}  # fmt: skip
    assert frame_lines(event) == list(ISSUE.frames)
    assert frame_lines({}) == []


class Checkout(Exception):
    pass


@pytest.mark.e2e
def test_tracker_buttons_and_links_on_the_pages(live_vedette: LiveVedette) -> None:
    account = make_account(live_vedette, "trackers")
    capture_error(account.project.dsn, Checkout("card declined"))
    live_vedette.wait_processed()
    [issue] = live_vedette.issues(account.project)
    visitor = signed_in(live_vedette, account)
    issue_path = f"{account.base}/issues/{issue['id']}/"
    try:
        page = visitor.page(issue_path)
        assert "Create GitHub issue" not in page.text
        settings = f"{account.base}/settings/trackers/"
        bad = visitor.post(settings, {"csrf_token": page.csrf_token, "github_repo": "javascript:x"})
        assert bad.status_code == 400 and "GitHub repository must be" in bad.text
        saved = visitor.post(settings,
                             {"csrf_token": page.csrf_token,
                              "github_repo": "https://github.com/acme/shop"})  # fmt: skip
        assert saved.status_code == 303

        page = visitor.page(issue_path)
        [create] = [link for link in page.links if link.startswith("https://github.com/")]
        query = parse_qs(urlsplit(create).query)
        assert query["title"] == [f"{issue['shortId']}: {issue['title']}"]
        assert f"{live_vedette.base_url}{issue_path}" in query["body"][0]

        hostile = {"csrf_token": page.csrf_token, "url": "javascript:alert(1)"}
        refused = visitor.post(f"{issue_path}links/", hostile)
        assert refused.status_code == 400
        tracker_issue = "https://github.com/acme/shop/issues/42"
        linked = visitor.post(f"{issue_path}links/",
                              {"csrf_token": page.csrf_token, "url": tracker_issue})  # fmt: skip
        assert linked.status_code == 303
        assert tracker_issue in visitor.page(issue_path).links
        assert tracker_issue in visitor.page(f"{account.base}/issues/").links  # in the list
        activity = live_vedette.api_get(f"/api/0/issues/{issue['id']}/activities/")["activity"]
        assert [a["data"] for a in activity if a["type"] == "create_issue"] == [
            {"provider": "github", "location": tracker_issue}
        ]

        page = visitor.page(issue_path)
        [unlink] = [f.action for f in page.forms if f.action.endswith("/delete/")]
        assert visitor.post(unlink, {"csrf_token": page.csrf_token}).status_code == 303
        assert tracker_issue not in visitor.page(issue_path).links
    finally:
        visitor.close()

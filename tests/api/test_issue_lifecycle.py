"""Issues through the JSON API: grouping, counters, search, status changes and regressions."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import pytest
from tests.conftest import LiveVedette, ProjectHandle


def send(server: LiveVedette, project: ProjectHandle, **event: Any) -> str:
    event_id = uuid.uuid4().hex
    payload = orjson.dumps({"event_id": event_id, "platform": "python", **event})
    body = (
        orjson.dumps({"event_id": event_id})
        + b"\n"
        + orjson.dumps({"type": "event", "length": len(payload)})
        + b"\n"
        + payload
        + b"\n"
    )
    response = server.http.post(
        f"/api/{project.id}/envelope/",
        content=body,
        headers={"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"},
    )
    assert response.status_code == 200, response.text
    return event_id


def error(type_: str, value: str, function: str = "checkout", **extra: Any) -> dict[str, Any]:
    frame = {"module": "shop.orders", "function": function, "filename": "shop/orders.py",
             "lineno": 10, "in_app": True, "context_line": f"    {function}()"}  # fmt: skip
    return {
        "exception": {
            "values": [{"type": type_, "value": value, "stacktrace": {"frames": [frame]}}]
        },
        **extra,
    }


@pytest.fixture
def project(live_vedette: LiveVedette) -> ProjectHandle:
    return live_vedette.create_project()


def only_issue(server: LiveVedette, project: ProjectHandle, query: str = "") -> dict[str, Any]:
    issues = server.issues(project, query)
    assert len(issues) == 1, issues
    return issues[0]


def test_issue_counters_users_and_releases(
    live_vedette: LiveVedette, project: ProjectHandle
) -> None:
    for user, release in [("1", "shop@1.0.0"), ("2", "shop@1.0.0"), ("1", "shop@1.1.0")]:
        send(
            live_vedette, project, **error("KeyError", "'sku'", user={"id": user}, release=release)
        )
    live_vedette.wait_processed()
    issue = only_issue(live_vedette, project)
    assert issue["title"] == "KeyError: 'sku'"
    assert issue["count"] == "3"
    assert issue["userCount"] == 2
    assert issue["status"] == "unresolved"
    assert issue["shortId"].startswith(project.slug.upper() + "-")
    assert issue["firstRelease"] == {"version": "shop@1.0.0"}
    assert issue["lastRelease"] == {"version": "shop@1.1.0"}
    detail = live_vedette.api_get(f"/api/0/issues/{issue['id']}/")
    releases = {t["key"]: t for t in detail["tags"]}["release"]["topValues"]
    assert {v["value"]: v["count"] for v in releases} == {"shop@1.0.0": 2, "shop@1.1.0": 1}
    events = live_vedette.api_get(f"/api/0/issues/{issue['id']}/events/")
    assert len(events) == 3
    latest = live_vedette.api_get(f"/api/0/issues/{issue['id']}/events/latest/")
    assert latest["eventID"] == events[0]["eventID"]
    oldest = live_vedette.api_get(f"/api/0/issues/{issue['id']}/events/oldest/")
    assert oldest["eventID"] == events[-1]["eventID"] != latest["eventID"]


def test_line_numbers_do_not_split_but_functions_do(
    live_vedette: LiveVedette, project: ProjectHandle
) -> None:
    send(live_vedette, project, **error("ValueError", "bad", function="a"))
    moved = error("ValueError", "bad", function="a")
    moved["exception"]["values"][0]["stacktrace"]["frames"][0]["lineno"] = 99
    send(live_vedette, project, **moved)
    send(live_vedette, project, **error("ValueError", "bad", function="b"))
    live_vedette.wait_processed()
    counts = sorted(i["count"] for i in live_vedette.issues(project))
    assert counts == ["1", "2"]


def test_search_language(live_vedette: LiveVedette, project: ProjectHandle) -> None:
    first = error("KeyError", "a", function="f1", level="warning", environment="prod",
                  release="shop@2.0.0", tags={"tenant": "acme"}, user={"id": "42"})  # fmt: skip
    second = error("TypeError", "b", function="f2", environment="staging",
                   release="shop@2.1.0", tags={"tenant": "globex"})  # fmt: skip
    send(live_vedette, project, **first)
    send(live_vedette, project, **second)
    live_vedette.wait_processed()

    def titles(query: str) -> set[str]:
        return {i["title"] for i in live_vedette.issues(project, query)}

    assert titles("") == {"KeyError: a", "TypeError: b"}
    assert titles("tenant:acme") == {"KeyError: a"}
    assert titles("!tenant:acme") == {"TypeError: b"}
    assert titles("environment:staging") == {"TypeError: b"}
    assert titles("release:shop@2.0.0") == {"KeyError: a"}
    assert titles("user.id:42") == {"KeyError: a"}
    assert titles("level:warning") == {"KeyError: a"}
    assert titles("TypeError") == {"TypeError: b"}
    assert titles("is:unresolved tenant:globex") == {"TypeError: b"}
    assert titles("is:resolved") == set()


def set_status(server: LiveVedette, issue_id: str, status: str) -> dict[str, Any]:
    result: dict[str, Any] = server.api_put(f"/api/0/issues/{issue_id}/", {"status": status})
    return result


def test_resolve_then_regress(live_vedette: LiveVedette, project: ProjectHandle) -> None:
    send(live_vedette, project, **error("KeyError", "x"))
    live_vedette.wait_processed()
    issue = only_issue(live_vedette, project)
    assert set_status(live_vedette, issue["id"], "resolved")["status"] == "resolved"
    assert live_vedette.issues(project, "is:unresolved") == []

    # An event that happened before the resolution does not reopen the issue.
    send(live_vedette, project, **error("KeyError", "x", timestamp=time.time() - 120))
    live_vedette.wait_processed()
    assert only_issue(live_vedette, project, "is:resolved")["count"] == "2"

    send(live_vedette, project, **error("KeyError", "x"))
    live_vedette.wait_processed()
    reopened = only_issue(live_vedette, project, "is:unresolved")
    assert reopened["substatus"] == "regressed"
    assert reopened["count"] == "3"


def test_resolved_in_next_release(live_vedette: LiveVedette, project: ProjectHandle) -> None:
    send(live_vedette, project, **error("KeyError", "y", release="shop@1.4.0"))
    live_vedette.wait_processed()
    issue = only_issue(live_vedette, project)
    updated = set_status(live_vedette, issue["id"], "resolvedInNextRelease")
    assert updated["status"] == "resolved"
    assert updated["statusDetails"] == {"inNextRelease": True}

    send(live_vedette, project, **error("KeyError", "y", release="shop@1.4.0"))
    send(live_vedette, project, **error("KeyError", "y", release="shop@1.3.9"))
    live_vedette.wait_processed()
    assert only_issue(live_vedette, project, "is:resolved")["count"] == "3"

    send(live_vedette, project, **error("KeyError", "y", release="shop@1.10.0"))
    live_vedette.wait_processed()
    assert only_issue(live_vedette, project, "is:unresolved")["substatus"] == "regressed"


def test_ignored_issues_keep_counting(live_vedette: LiveVedette, project: ProjectHandle) -> None:
    send(live_vedette, project, **error("KeyError", "z"))
    live_vedette.wait_processed()
    issue = only_issue(live_vedette, project)
    set_status(live_vedette, issue["id"], "ignored")
    send(live_vedette, project, **error("KeyError", "z"))
    live_vedette.wait_processed()
    ignored = only_issue(live_vedette, project, "is:ignored")
    assert ignored["count"] == "2"
    assert set_status(live_vedette, issue["id"], "unresolved")["status"] == "unresolved"


def test_api_requires_a_valid_token(live_vedette: LiveVedette, project: ProjectHandle) -> None:
    path = f"/api/0/projects/{project.org}/{project.slug}/issues/"
    assert live_vedette.http.get(path).status_code == 401
    bad = live_vedette.http.get(path, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    missing = live_vedette.http.get(
        f"/api/0/projects/{project.org}/nope/issues/",
        headers={"Authorization": f"Bearer {live_vedette.token}"},
    )
    assert missing.status_code == 404


def test_bad_status_is_400(live_vedette: LiveVedette, project: ProjectHandle) -> None:
    send(live_vedette, project, **error("KeyError", "w"))
    live_vedette.wait_processed()
    issue = only_issue(live_vedette, project)
    response = live_vedette.http.put(
        f"/api/0/issues/{issue['id']}/",
        json={"status": "fixed?"},
        headers={"Authorization": f"Bearer {live_vedette.token}"},
    )
    assert response.status_code == 400

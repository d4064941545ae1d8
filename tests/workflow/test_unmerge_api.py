"""Sentry's hashes API over HTTP on a live server (both engines): list an issue's grouping
hashes, unmerge one (the new issue and the old one read back exactly as before their merge,
users and tags included), the refusals, later events following the hash, and a merged issue's
old id answering with the issue it went into."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import pytest
from tests.conftest import LiveVedette, ProjectHandle
from tests.workflow.sending import call

HOUR_AGO = time.time() - 3600  # the events' times: within what ingest keeps as sent


def send(server: LiveVedette, project: ProjectHandle, kind: str, count: int, start: int) -> None:
    """``count`` errors of the issue ``kind`` names, one envelope, with users and tags of their
    own and shared with the other issue (``start`` shifts both), a second apart."""
    lines = [orjson.dumps({})]
    for n in range(start, start + count):
        event = {
            "event_id": uuid.uuid4().hex,
            "platform": "python",
            "level": "error",
            "timestamp": HOUR_AGO + n,
            "fingerprint": [kind],
            "release": f"shop@{n // 4}",
            "exception": {"values": [{"type": kind, "value": f"{kind} happened"}]},
            "user": {"id": f"u{n % 5}"},
            "tags": {"tenant": f"t{n % 3}", "kind": kind},
        }
        body = orjson.dumps(event)
        lines += [orjson.dumps({"type": "event", "length": len(body)}), body]
    response = server.http.post(
        f"/api/{project.id}/envelope/",
        content=b"\n".join(lines),
        headers={"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}"},
    )
    assert response.status_code == 200, response.text


def issue(server: LiveVedette, issue_id: str) -> dict[str, Any]:
    """The issue as the API shows it, less what names it."""
    found: dict[str, Any] = server.api_get(f"/api/0/issues/{issue_id}/")
    return {k: v for k, v in found.items() if k not in ("id", "shortId")}


def hashes_path(issue_id: str, *hashes: str) -> str:
    return f"/api/0/issues/{issue_id}/hashes/" + "".join(
        f"{'&' if i else '?'}id={h}" for i, h in enumerate(hashes)
    )


def test_unmerge_over_the_api(live_vedette: LiveVedette) -> None:
    server = live_vedette
    project = server.create_project(org=f"o{uuid.uuid4().hex[:10]}")
    send(server, project, "Alpha", 12, 0)
    send(server, project, "Beta", 7, 8)  # overlaps Alpha's times, users and tenants
    server.wait_processed()
    ids = {i["title"].partition(":")[0]: i["id"] for i in server.issues(project)}
    alpha, beta = ids["Alpha"], ids["Beta"]
    before = {alpha: issue(server, alpha), beta: issue(server, beta)}

    bulk = f"/api/0/projects/{project.org}/{project.slug}/issues/?id={alpha}&id={beta}"
    assert server.api_put(bulk, {"merge": 1})["merge"]["parent"] == alpha
    # The merged issue's id answers with the issue it went into, as Sentry's does.
    assert server.api_get(f"/api/0/issues/{beta}/")["id"] == alpha
    listed = server.api_get(hashes_path(alpha))
    assert len(listed) == 2
    by_kind = {h["latestEvent"]["title"].partition(":")[0]: h for h in listed}
    assert listed[0] == by_kind["Beta"]  # the most recently seen first
    assert by_kind["Beta"]["latestEvent"]["groupID"] == alpha
    beta_hash = by_kind["Beta"]["id"]

    done = call(server, "PUT", hashes_path(alpha, beta_hash))
    assert done.status_code == 202, done.text
    body = done.json()
    assert (body["source"], body["events"]) == (alpha, 7)
    unmerged = body["destination"]
    assert unmerged != alpha  # SQLite may give it the merged issue's id again (no AUTOINCREMENT)
    assert issue(server, alpha) == before[alpha]
    assert issue(server, unmerged) == before[beta]
    assert [h["id"] for h in server.api_get(hashes_path(unmerged))] == [beta_hash]
    activities = f"/api/0/issues/{unmerged}/activities/"
    [moved] = server.api_get(activities)["activity"]
    assert (moved["type"], moved["data"]) == (
        "unmerge_destination",
        {"fingerprints": [beta_hash], "source_id": alpha},
    )
    latest = server.api_get(f"/api/0/issues/{alpha}/activities/")["activity"][0]
    assert (latest["type"], latest["data"]["destination_id"]) == ("unmerge_source", unmerged)

    send(server, project, "Beta", 1, 100)  # the hash now leads to the new issue
    server.wait_processed()
    assert server.api_get(f"/api/0/issues/{unmerged}/")["count"] == "8"
    assert server.api_get(f"/api/0/issues/{alpha}/")["count"] == "12"


@pytest.mark.parametrize(
    "ask",
    [
        lambda own, other: [],  # no hash named
        lambda own, other: [own],  # the issue's only hash
        lambda own, other: [other],  # another issue's
        lambda own, other: ["x" * 33],  # no hash at all
    ],
    ids=["none", "every hash", "another issue's", "too long"],
)
def test_refused_unmerges_are_400(live_vedette: LiveVedette, ask: Any) -> None:
    server = live_vedette
    project = server.create_project(org=f"o{uuid.uuid4().hex[:10]}")
    send(server, project, "Alpha", 2, 0)
    send(server, project, "Beta", 1, 0)
    server.wait_processed()
    ids = {i["title"].partition(":")[0]: i["id"] for i in server.issues(project)}
    [own] = [h["id"] for h in server.api_get(hashes_path(ids["Alpha"]))]
    [other] = [h["id"] for h in server.api_get(hashes_path(ids["Beta"]))]
    refused = call(server, "PUT", hashes_path(ids["Alpha"], *ask(own, other)))
    assert refused.status_code == 400, refused.text
    assert server.api_get(f"/api/0/issues/{ids['Alpha']}/")["count"] == "2"

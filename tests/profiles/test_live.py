"""The real sentry-sdk profiling against a live server, on both engines: a transaction profile
(``profiles_sample_rate``) and continuous profiling (``profile_session_sample_rate`` with
``start_profiler()``/``stop_profiler()``) are stored, come back from the contract endpoints,
and the flame graphs name the functions that did the work."""

from __future__ import annotations

import uuid

import orjson
import pytest
from tests.conftest import LiveVedette
from tests.profiles.support import (
    PROFILE_ID,
    WORKERS,
    envelope_of,
    flame_names,
    only_transaction,
    run_driver,
    sampled,
)
from tests.ui import pages
from tests.ui.conftest import Account, make_account, send_envelope, signed_in

from vedette.storage import accounts, tokens

pytestmark = pytest.mark.e2e


def test_a_transaction_profile_is_stored_and_served(
    live_vedette: LiveVedette, profiled: Account
) -> None:
    project = profiled.project
    event = only_transaction(live_vedette, project)
    profile_id = event["contexts"]["profile"]["profile_id"]  # set from the profile, as Relay
    base = f"/api/0/projects/{project.org}/{project.slug}/profiling"

    profile = live_vedette.api_get(f"{base}/profiles/{profile_id}/")
    assert profile["event_id"] == profile_id
    assert profile["version"] == "1"
    assert profile["release"] == "profiled@1.0"
    assert profile["transaction"]["name"] == "monthly-report"
    assert profile["transaction"]["id"] == event["eventID"]
    functions = {f["function"] for f in profile["profile"]["frames"]}
    assert set(WORKERS) <= functions
    samples = profile["profile"]["samples"]
    assert len(samples) >= 10  # 0.4 s of CPU at 101 Hz
    assert all(0 <= s["stack_id"] < len(profile["profile"]["stacks"]) for s in samples)

    graph = live_vedette.api_get(f"{base}/flamegraph/", transaction="monthly-report")
    assert graph["profiles"] == [profile_id]
    assert set(WORKERS) <= flame_names(graph["flamegraph"])
    slowest = graph["functions"][0]
    assert slowest["function"].startswith("crunch_invoice_numbers")  # or its <genexpr>
    assert slowest["self_ns"] > 0.1e9


def test_continuous_profile_chunks_are_stored_and_served(live_vedette: LiveVedette) -> None:
    """The chunks through the API, and the transaction's page linking to what the profiler
    sampled while it ran."""
    account = make_account(live_vedette, "cont")
    project = account.project
    run_driver("continuous", project)
    live_vedette.wait_processed()
    transaction = only_transaction(live_vedette, project)
    profiler_id = transaction["contexts"]["profile"]["profiler_id"]
    base = f"/api/0/projects/{project.org}/{project.slug}/profiling"

    graph = live_vedette.api_get(f"{base}/flamegraph/", profiler_id=profiler_id)
    assert graph["profiles"], "no chunk of the profiler was stored"
    assert set(WORKERS) <= flame_names(graph["flamegraph"])
    chunk = live_vedette.api_get(f"{base}/chunks/{graph['profiles'][0]}/")
    assert chunk["version"] == "2"
    assert chunk["profiler_id"] == profiler_id.replace("-", "")
    assert chunk["profile"]["samples"][0]["timestamp"] > 0

    visitor = signed_in(live_vedette, account)
    try:
        waterfall = visitor.page(f"{account.base}/performance/events/{transaction['eventID']}/")
        (link,) = [x for x in waterfall.links if "/profiling/?profiler_id=" in x]
        response = visitor.http.get(link)  # Visitor.get's params would replace the query
        assert response.status_code == 200, response.text[:500]
        merged = pages.parse(response.text)
        assert "Continuous profile" in merged.text
        assert all(name in merged.text for name in WORKERS)
        assert visitor.http.get(link.replace("&end=", "&end=x")).status_code == 400
    finally:
        visitor.close()


def test_profiles_are_read_as_other_project_routes(live_vedette: LiveVedette) -> None:
    """Only with a token of the project's organisation; bad parameters are a 400."""
    project = live_vedette.create_project(org="profiles-owner")
    body = envelope_of(({"type": "profile"}, orjson.dumps(sampled(timestamp=None))))
    send_envelope(live_vedette, project, body)
    live_vedette.wait_processed()
    with live_vedette.db.write() as conn:
        other = accounts.create_project(conn, f"stranger-{uuid.uuid4().hex[:8]}", "elsewhere")
        stranger = tokens.create_token(conn, "stranger", other.organization_id)
    path = f"/api/0/projects/{project.org}/{project.slug}/profiling/profiles/{PROFILE_ID}/"
    assert live_vedette.api_get(path)["transaction"]["name"] == "GET /orders"
    http = live_vedette.http
    assert http.get(path).status_code == 401
    assert http.get(path, headers={"Authorization": f"Bearer {stranger}"}).status_code == 404
    graph = f"/api/0/projects/{project.org}/{project.slug}/profiling/flamegraph/"
    owner = {"Authorization": f"Bearer {live_vedette.token}"}
    for params in ({}, {"transaction": "x", "profiler_id": "0" * 32}, {"profiler_id": "nope"},
                   {"transaction": "x", "statsPeriod": "forever"}):  # fmt: skip
        assert http.get(graph, params=params, headers=owner).status_code == 400, params

"""The real sentry-sdk profiling against a live server, on both engines: a transaction profile
(``profiles_sample_rate``) and continuous profiling (``profile_session_sample_rate`` with
``start_profiler()``/``stop_profiler()``) are stored, come back from the contract endpoints,
and the flame graphs name the functions that did the work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import LiveVedette, ProjectHandle
from tests.profiles.test_processing import PROFILE_ID, envelope_of, sampled
from tests.ui.conftest import send_envelope

from vedette.storage import accounts

pytestmark = pytest.mark.e2e

DRIVER = Path(__file__).with_name("sdk_driver.py")
ROOT = Path(__file__).parents[2]
WORKERS = ("crunch_invoice_numbers", "render_monthly_report")


def run_driver(mode: str, project: ProjectHandle) -> None:
    done = subprocess.run(
        [sys.executable, str(DRIVER), mode, project.dsn],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def only_transaction(server: LiveVedette, project: ProjectHandle) -> dict[str, Any]:
    base = f"/api/0/projects/{project.org}/{project.slug}"
    listed = server.api_get(f"{base}/events/", type="transaction")
    assert len(listed) == 1, listed
    event: dict[str, Any] = server.api_get(f"{base}/events/{listed[0]['eventID']}/")
    return event


def flame_names(node: dict[str, Any]) -> set[str]:
    return {node["name"]}.union(*(flame_names(c) for c in node["children"]))


def test_a_transaction_profile_is_stored_and_served(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    run_driver("transaction", project)
    live_vedette.wait_processed()
    event = only_transaction(live_vedette, project)
    profile_id = event["contexts"]["profile"]["profile_id"]
    base = f"/api/0/projects/{project.org}/{project.slug}/profiling"

    profile = live_vedette.api_get(f"{base}/profiles/{profile_id}/")
    assert profile["event_id"] == profile_id.replace("-", "")
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
    assert graph["profiles"] == [profile["event_id"]]
    assert set(WORKERS) <= flame_names(graph["flamegraph"])
    slowest = graph["functions"][0]
    assert slowest["function"].startswith("crunch_invoice_numbers")  # or its <genexpr>
    assert slowest["self_ns"] > 0.1e9


def test_continuous_profile_chunks_are_stored_and_served(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    run_driver("continuous", project)
    live_vedette.wait_processed()
    profiler_id = only_transaction(live_vedette, project)["contexts"]["profile"]["profiler_id"]
    base = f"/api/0/projects/{project.org}/{project.slug}/profiling"

    graph = live_vedette.api_get(f"{base}/flamegraph/", profiler_id=profiler_id)
    assert graph["profiles"], "no chunk of the profiler was stored"
    assert set(WORKERS) <= flame_names(graph["flamegraph"])
    chunk = live_vedette.api_get(f"{base}/chunks/{graph['profiles'][0]}/")
    assert chunk["version"] == "2"
    assert chunk["profiler_id"] == profiler_id.replace("-", "")
    assert chunk["profile"]["samples"][0]["timestamp"] > 0


def test_profiles_are_read_as_other_project_routes(live_vedette: LiveVedette) -> None:
    """Only with a token of the project's organisation; bad parameters are a 400."""
    project = live_vedette.create_project(org="profiles-owner")
    body = envelope_of(({"type": "profile"}, orjson.dumps(sampled(timestamp=None))))
    send_envelope(live_vedette, project, body)
    live_vedette.wait_processed()
    with live_vedette.db.write() as conn:
        other = accounts.create_project(conn, "profiles-stranger", "elsewhere")
        stranger = accounts.create_token(conn, "stranger", other.organization_id)
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

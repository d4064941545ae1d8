"""Quotas answered so that the real SDK backs off (429 + X-Sentry-Rate-Limits)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import httpx
from tests.conftest import LiveVedette
from tests.e2e.crash_stream import send_errors

SEND_TEN = textwrap.dedent(
    """
    import sys, sentry_sdk
    sentry_sdk.init(dsn=sys.argv[1], default_integrations=False)
    for i in range(10):
        sentry_sdk.capture_message(f"burst {i}")
        sentry_sdk.flush()
    """
)


def rejected_quota(server: LiveVedette) -> float:
    for line in server.http.get("/metrics").text.splitlines():
        if line.startswith('vedette_ingest_rejected_total{reason="too_many_requests"}'):
            return float(line.split()[-1])
    return 0.0


def test_quota_answer_and_sdk_back_off(own_server: LiveVedette) -> None:
    own_server.start(rate_limit_per_minute="3")
    project = own_server.create_project()
    own_server.start_of_a_window()

    subprocess.run([sys.executable, "-c", SEND_TEN, project.dsn], check=True, timeout=60)
    own_server.wait_processed()

    stats = own_server.api_get(f"/api/0/projects/{project.org}/{project.slug}/stats/")
    assert stats["accepted"]["error"] == 3
    # The SDK saw one 429 and then dropped the remaining six itself, without sending them.
    assert rejected_quota(own_server) == 1

    response = own_server.http.post(
        f"/api/{project.id}/store/",
        content=b'{"message": "one more"}',
        headers={"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}"},
    )
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert response.headers["x-sentry-rate-limits"] == (
        f"{retry_after}:error;default;transaction;security:project"
    )
    assert "x-sentry-rate-limits" in response.headers["access-control-expose-headers"]

    # Refused requests become outcomes in the stats API (flushed through the spool).
    deadline = time.monotonic() + 15
    while True:
        own_server.wait_processed()
        stats = own_server.api_get(f"/api/0/projects/{project.org}/{project.slug}/stats/")
        if stats.get("rate_limited", {}).get("error") == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert stats["rate_limited"] == {"error": 2}

    own_server.shift_clock(60)  # the next minute: a new window and quota
    response = own_server.http.post(
        f"/api/{project.id}/store/",
        content=b'{"message": "next minute"}',
        headers={"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}"},
    )
    assert response.status_code == 200


def test_clients_cannot_forge_internal_items(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    forged = (
        b'{}\n{"type":"vedette_outcomes"}\n{"outcomes":[]}\n{"type":"event"}\n{"message":"x"}\n'
    )
    response = live_vedette.http.post(
        f"/api/{project.id}/envelope/",
        content=forged,
        headers={"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}"},
    )
    assert response.status_code == 400
    assert "reserved" in response.headers["x-sentry-error"]


def test_other_projects_keep_their_quota(own_server: LiveVedette) -> None:
    own_server.start(rate_limit_per_minute="1")
    noisy, quiet = own_server.create_project(), own_server.create_project()
    own_server.start_of_a_window()

    def store(project_id: int, key: str) -> int:
        return httpx.post(
            f"{own_server.base_url}/api/{project_id}/store/",
            content=b'{"message": "m"}',
            headers={"X-Sentry-Auth": f"Sentry sentry_key={key}"},
        ).status_code

    assert store(noisy.id, noisy.public_key) == 200
    assert store(noisy.id, noisy.public_key) == 429
    assert store(quiet.id, quiet.public_key) == 200


def test_a_full_spool_refuses_instead_of_filling_the_disk(own_server: LiveVedette) -> None:
    own_server.start(worker_enabled="false", max_spool_entries="5")
    project = own_server.create_project()
    send_errors(own_server, project, 5)
    headers = {"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}"}
    # The server counts what it spooled since the last measurement: the next one is refused.
    response = own_server.http.post(
        f"/api/{project.id}/store/", content=b'{"message": "m"}', headers=headers
    )
    assert response.status_code == 429
    assert response.headers["x-sentry-rate-limits"] == "60::organization:spool_full"
    assert response.headers["retry-after"] == "60"

    own_server.stop()
    own_server.start(max_spool_entries="5")  # the worker drains the spool
    own_server.wait_processed()
    deadline = time.monotonic() + 15  # a full spool is measured every 0.1 s
    while True:
        response = own_server.http.post(
            f"/api/{project.id}/store/", content=b'{"message": "m"}', headers=headers
        )
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert response.status_code == 200

"""Clients other than the SDK drivers: sentry-cli, captured wire requests, Sentry's samples."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import LiveVedette, ProjectHandle
from tests.retime import retime, retimed_copy

pytestmark = pytest.mark.time_sensitive

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
WIRE = CORPORA / "wire"
SAMPLES = CORPORA / "sentry-samples"
BROKEN_SAMPLES = {"ruby.json", "invalid-interfaces.json"}  # not strict JSON upstream either
# A template that Sentry's sample loader fills with timestamps: as sent, Relay's validation
# drops it (no start_timestamp on the transaction or its spans), and so do we, visibly.
INVALID_TRANSACTION_SAMPLES = {"javascript-transaction.json"}


def sentry_cli(project: ProjectHandle, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["sentry-cli", *args],
        env={"SENTRY_DSN": project.dsn, "PATH": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


def project_events(server: LiveVedette, project: ProjectHandle) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = server.api_get(
        f"/api/0/projects/{project.org}/{project.slug}/events/"
    )
    return result


def full_event(server: LiveVedette, project: ProjectHandle, event_id: str) -> dict[str, Any]:
    result: dict[str, Any] = server.api_get(
        f"/api/0/projects/{project.org}/{project.slug}/events/{event_id}/"
    )
    return result


def test_sentry_cli_send_event(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    sentry_cli(
        project, "send-event", "-m", "Deploy hook failed: %s", "-a", "timeout", "-l", "error",
        "-r", "corpora-shop@1.4.2", "-E", "corpora", "-t", "stage:deploy", "-u", "id:42",
        "-f", "deploy-hook", "-e", "attempt:3", "--no-environ",
    )  # fmt: skip
    live_vedette.wait_processed()
    [summary] = project_events(live_vedette, project)
    event = full_event(live_vedette, project, summary["eventID"])
    assert event["logentry"]["formatted"] == "Deploy hook failed: timeout"
    assert event["release"] == "corpora-shop@1.4.2"
    assert event["environment"] == "corpora"
    tags = {t["key"]: t["value"] for t in event["tags"]}
    assert tags["stage"] == "deploy"
    assert tags["user"] == "id:42"
    assert event["extra"]["attempt"] == "3"
    [issue] = live_vedette.issues(project)
    assert issue["level"] == "error"


def test_sentry_cli_send_envelope(live_vedette: LiveVedette, tmp_path: Path) -> None:
    project = live_vedette.create_project()
    python = CORPORA / "sdk-python"
    error = retimed_copy(python / "error_zero_division.envelope", tmp_path)
    message = retimed_copy(python / "message_levels.1.envelope", tmp_path)
    sentry_cli(project, "send-envelope", str(error))
    sentry_cli(project, "send-envelope", "--raw", str(message))
    live_vedette.wait_processed()
    titles = {i["title"] for i in live_vedette.issues(project)}
    assert "ZeroDivisionError: division by zero" in titles
    assert len(titles) == 2


def wire_requests() -> list[tuple[str, Path]]:
    found = []
    for client in ("python-sdk", "node-sdk", "sentry-cli"):
        for meta in sorted((WIRE / client).glob("*.request.json")):
            found.append((client, meta))
    return found


@pytest.mark.parametrize(
    ("client", "meta"), wire_requests(), ids=[f"{c}/{m.name}" for c, m in wire_requests()]
)
def test_captured_wire_requests_replay(live_vedette: LiveVedette, client: str, meta: Path) -> None:
    """Requests as the three clients sent them (headers in order, raw body), re-timed to now:
    byte for byte but for the timestamps, so that a session never becomes too old to accept."""
    project = live_vedette.create_project()
    request = json.loads(meta.read_text())
    body = retime((meta.parent / request["body_file"]).read_bytes())
    key = "0123456789abcdef0123456789abcdef"
    headers = [
        (name, value.replace(key, project.public_key))
        for name, value in request["headers"]
        if name.lower() not in ("host", "content-length", "transfer-encoding")
    ]
    query = request["query"].replace(key, project.public_key)
    url = f"/api/{project.id}/envelope/" + (f"?{query}" if query else "")
    response = live_vedette.http.post(url, content=body, headers=headers)
    assert response.status_code == 200, response.text
    live_vedette.wait_processed()
    stats = live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/stats/")
    assert sum(stats["accepted"].values()) >= 1
    assert "invalid" not in stats


def samples() -> list[Path]:
    return sorted(p for p in SAMPLES.glob("*.json") if p.name != "manifest.json")


@pytest.mark.parametrize("path", samples(), ids=lambda p: p.name)
def test_sentry_samples_via_store(live_vedette: LiveVedette, path: Path) -> None:
    project = live_vedette.create_project()
    response = live_vedette.http.post(
        f"/api/{project.id}/store/",
        content=path.read_bytes(),
        headers={"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"},
    )
    if path.name in BROKEN_SAMPLES:
        assert response.status_code == 400
        assert "invalid JSON" in response.headers["x-sentry-error"]
        return
    assert response.status_code == 200, response.text
    event_id = response.json()["id"]
    live_vedette.wait_processed()
    if path.name in INVALID_TRANSACTION_SAMPLES:
        stats = live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/stats/")
        assert stats == {"invalid": {"transaction": 1}}
        return
    stored = full_event(live_vedette, project, event_id)
    sample = orjson.loads(path.read_bytes())
    assert stored["type"] in ("error", "default", "transaction", "csp")
    if sample.get("type") == "transaction":
        assert stored["type"] == "transaction"
        assert stored["groupID"] is None
    else:
        assert stored["groupID"] is not None
        assert live_vedette.issues(project)


def test_server_survives_all_samples_in_one_envelope_each(live_vedette: LiveVedette) -> None:
    """The broken samples inside envelopes: acknowledged (the worker reads items), counted
    invalid, and the server keeps serving."""
    project = live_vedette.create_project()
    headers = {"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"}
    broken = 0
    for path in samples():
        payload = path.read_bytes().replace(b"\n", b" ")
        body = b"{}\n" + orjson.dumps({"type": "event", "length": len(payload)}) + b"\n" + payload
        response = live_vedette.http.post(
            f"/api/{project.id}/envelope/", content=body, headers=headers
        )
        assert response.status_code == 200, (path.name, response.text)
        broken += path.name in BROKEN_SAMPLES
    started = time.monotonic()
    live_vedette.wait_processed()
    assert time.monotonic() - started < 30
    assert live_vedette.http.get("/_health/").status_code == 200
    stats = live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/stats/")
    assert broken and stats["invalid"] == {"error": broken}

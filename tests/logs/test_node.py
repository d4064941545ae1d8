"""@sentry/node's ``Sentry.logger`` against a live server, on both engines: the corpus driver's
``logs`` scenario (tests/e2e/sdk_scenarios/node) sends three records, each stored once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tests.conftest import LiveVedette

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).parents[1] / "e2e" / "sdk_scenarios" / "node"


def test_node_logger_records_are_stored_once(live_vedette: LiveVedette) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@sentry" / "node").is_dir():
        pytest.skip("needs node and @sentry/node: `npm ci` in tests/e2e/sdk_scenarios/node")
    project = live_vedette.create_project()
    run = subprocess.run(
        [node, "scenarios.mjs", project.dsn, "logs"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    live_vedette.wait_processed()
    rows = live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/logs/")
    assert [r["level"] for r in rows] == ["error", "warn", "info"]
    error, warn, info = rows
    assert info["message"] == "Order 17 created for acme"
    assert info["template"] == "Order %s created for %s"
    assert info["parameters"] == {"0": 17, "1": "acme"}
    assert warn["attributes"]["sku"] == "SKU-7" and warn["attributes"]["left"] == 2
    assert error["message"] == "Carrier DHL timed out"
    assert {r["release"] for r in rows} == {"corpora-shop-node@2.3.0"}
    assert {r["sdk"].split()[0] for r in rows} == {"sentry.javascript.node"}
    assert len({r["trace_id"] for r in rows}) == 1

"""The real sentry-sdk against a live ``vedette serve``: numbers checked against what it sent."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import LiveVedette

from vedette.domain.histogram import exact_quantile

pytestmark = pytest.mark.e2e

DRIVER = Path(__file__).with_name("sdk_traffic.py")
FAILURE_FREE = {"ok", "cancelled", "unknown_error"}


def run_sdk(server: LiveVedette, dsn: str, seed: int, count: int, release: str) -> list[Any]:
    proc = subprocess.run(
        [sys.executable, str(DRIVER), dsn, str(seed), str(count), release],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    sent: list[Any] = json.loads(proc.stdout)
    return sent


def test_real_sdk_transactions_n_plus_one_sessions_and_crons(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    base = f"/api/0/projects/{project.org}/{project.slug}"
    first = run_sdk(live_vedette, project.dsn, 1, 150, "shop@1.0.0")
    live_vedette.wait_processed()
    n_plus_one = live_vedette.issues(project, "")
    orders_1_0 = sum(1 for t in first if t["name"] == "GET /orders")
    perf = [i for i in n_plus_one if i["type"] == "performance_n_plus_one_db_queries"]
    assert len(perf) == 1 and perf[0]["count"] == str(orders_1_0)
    assert perf[0]["metadata"]["value"] == "SELECT * FROM lines WHERE order_id = %s"

    second = run_sdk(live_vedette, project.dsn, 2, 150, "shop@1.1.0")
    live_vedette.wait_processed()

    # The fixed release adds nothing to the N+1 issue.
    after = [i for i in live_vedette.issues(project, "") if i["id"] == perf[0]["id"]]
    assert after[0]["count"] == str(orders_1_0)
    assert (
        len([i for i in live_vedette.issues(project, "") if i["type"].startswith("performance")])
        == 1
    )

    rows = {
        r["transaction"]: r
        for r in live_vedette.api_get(f"{base}/transactions/", statsPeriod="24h")
    }
    by_name: dict[str, list[Any]] = defaultdict(list)
    for t in first + second:
        by_name[t["name"]].append(t)
    assert set(rows) == set(by_name)
    for name, sent in by_name.items():
        values = [t["duration_us"] / 1000 for t in sent]
        row = rows[name]
        assert row["count"] == len(sent)
        failures = sum(1 for t in sent if t["status"] not in FAILURE_FREE)
        assert row["failure_count"] == failures
        assert row["failure_rate"] == pytest.approx(failures / len(sent))
        satisfied = sum(1 for v in values if v <= 300)
        tolerating = sum(1 for v in values if 300 < v <= 1200)
        assert row["apdex"] == pytest.approx((satisfied + tolerating / 2) / len(sent))
        for key, q in (("p50", 0.5), ("p75", 0.75), ("p95", 0.95), ("p99", 0.99)):
            assert row[key] == pytest.approx(exact_quantile(values, q), rel=0.01), (name, key)

    releases = {r["version"]: r["healthData"] for r in live_vedette.api_get(f"{base}/releases/")}
    for version in ("shop@1.0.0", "shop@1.1.0"):
        assert releases[version]["totalSessions"] == 1
        assert releases[version]["sessionsErrored"] == 1
        assert releases[version]["crashFreeSessions"] == 100.0
    (monitor,) = live_vedette.api_get(f"{base}/monitors/")
    assert monitor["slug"] == "nightly-export" and monitor["status"] == "ok"
    assert monitor["latestCheckIn"]["duration"] == pytest.approx(4200)

"""The reference shop, instrumented with vedette.kit, against a live Vedette over real HTTP.

The shop runs under uvicorn in its own process with the seed's environment variables
(``SENTRY_DSN`` ...), the SDK's real HttpTransport posts to the live server, the traffic mix
drives it, and a SIGTERM stops it (the kit's lifespan flushes). Then the API must show the
unexpected errors as issues (and no expected error), the performance issues (N+1, slow query),
the transactions by endpoint, and the event whose id the 500 answer carried.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from examples.shop import traffic
from tests.conftest import LiveVedette, free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]
SECRETS = [
    traffic.SECRET_PASSWORD, traffic.SECRET_QUERY_TOKEN, traffic.SECRET_API_KEY,
    traffic.SECRET_COOKIE, "4242424242424242", "4242 4242 4242 4242", "4000 0000 0000 3220",
]  # fmt: skip


@contextmanager
def running_shop(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "examples.shop", "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(traffic.wait_until_up(f"{url}/health"))
        yield url
    finally:
        process.terminate()  # uvicorn's graceful shutdown runs the lifespan (flush)
        code = process.wait(timeout=30)
    # uvicorn re-raises the signal it handled once it has shut down cleanly.
    assert code in (0, -signal.SIGTERM), log.read_text()[-3000:]


async def drive_and_break(url: str) -> tuple[Counter[str], dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        seen = await traffic.drive(client, 1, pause=0.005)
        signup = await client.post(
            "/users",
            json={"email": "e2e@example.com", "name": "E", "password": "x", "tenant": "e2e"},
        )
        token = signup.json()["token"]
        failed = await client.get("/recommendations", headers={"Authorization": f"Bearer {token}"})
        assert failed.status_code == 500
        return seen, failed.json()


def test_the_shop_reports_to_a_live_vedette(live_vedette: LiveVedette, tmp_path: Path) -> None:
    project = live_vedette.create_project()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "SHOP_"))},
        "SENTRY_DSN": project.dsn,
        "SENTRY_TRACES_SAMPLE_RATE": "1.0",
        "ENVIRONMENT": "e2e",
        "APP_VERSION": "shop@2.0.0",
        "SENTRY_ENABLE_LOGS": "true",
        "SHOP_DATABASE_PATH": str(tmp_path / "shop.sqlite3"),
        # Past the 1 s "slow DB query" threshold, once.
        "SHOP_SLOW_REPORT_SECONDS": "1.05",
    }
    with running_shop(env, tmp_path / "shop.log") as url:
        seen, answer = asyncio.run(drive_and_break(url))
    assert seen["checkout 500"] == seen["recommendations-no-orders 500"] == 1
    live_vedette.wait_processed()

    issues = live_vedette.issues(project)
    errors = Counter(i["metadata"].get("type") for i in issues if i["type"] == "error")
    assert errors == {"KeyError": 1, "ZeroDivisionError": 1, "GatewayTimeout": 1}
    by_type = {i["metadata"].get("type"): i for i in issues if i["type"] == "error"}
    assert by_type["ZeroDivisionError"]["count"] == "2"  # the traffic's and ours
    assert by_type["KeyError"]["lastRelease"] == {"version": "shop@2.0.0"}
    performance = {i["type"] for i in issues if i["type"].startswith("performance")}
    assert performance == {"performance_n_plus_one_db_queries", "performance_slow_db_query"}

    # The 500 answer's event_id is the stored event.
    base = f"/api/0/projects/{project.org}/{project.slug}"
    event = live_vedette.api_get(f"{base}/events/{answer['event_id']}/")
    assert answer["detail"] == "Internal server error"
    assert event["groupID"] == by_type["ZeroDivisionError"]["id"]
    tags = {t["key"]: t["value"] for t in event["tags"]}
    assert (tags["service"], tags["tenant_id"], tags["environment"]) == ("shop", "e2e", "e2e")
    assert set(event["user"]) == {"id"}  # no email, no username
    assert event["contexts"]["request_info"]["route"] == "/recommendations"
    exception = event["exception"]["values"][-1]
    assert exception["mechanism"]["handled"] is False

    stored = json.dumps(
        [live_vedette.api_get(f"/api/0/issues/{i['id']}/events/latest/") for i in issues]
    )
    assert [s for s in SECRETS if s in stored] == []

    transactions = {r["transaction"]: r for r in live_vedette.api_get(f"{base}/transactions/")}
    names = set(transactions)
    assert {
        "examples.shop.routes.list_orders",
        "examples.shop.routes.checkout",
        "examples.shop.routes.place_order",
        "examples.shop.routes.sales_report",
    } <= names
    assert "examples.shop.routes.health" not in names  # never traced
    assert transactions["examples.shop.routes.place_order"]["count"] == seen["order 201"] + 1

    # The shop's Python logging records are logs; the error page's feedback is linked to the
    # checkout error it is about.
    logs = live_vedette.api_get(f"{base}/logs/", query="signed up")
    assert len(logs) == seen["signup 201"] + 1  # the traffic's sign-ups and ours
    assert {r["attributes"]["logger.name"] for r in logs} == {"shop"}
    [feedback] = live_vedette.api_get(f"{base}/user-feedback/")
    assert feedback["comments"] == "I was charged but the page says something went wrong"
    assert feedback["issue"]["id"] == by_type["KeyError"]["id"]


def test_vedette_demo_serves_the_shops_issues_and_transactions(tmp_path: Path) -> None:
    """`vedette demo`: a newcomer sees real issues and transactions without doing anything."""
    port, shop_port, mail_port = free_port(), free_port(), free_port()
    kept = {
        k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "SHOP_", "VEDETTE_"))
    }
    env = {**kept, "VEDETTE_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "vedette", "demo", "--port", str(port), "--shop-port",
               str(shop_port), "--mail-port", str(mail_port), "--traffic-rounds", "1",
               "--log-level", "warning"]  # fmt: skip
    with (tmp_path / "demo.err").open("wb") as err:
        demo = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=err,
            start_new_session=True,
        )  # fmt: skip
    try:
        assert demo.stdout is not None
        printed = []
        while not any("API token:" in line for line in printed):
            line = demo.stdout.readline().decode()
            assert line, (tmp_path / "demo.err").read_text()[-3000:]
            printed.append(line)
        token = next(line for line in printed if "API token:" in line).split()[-1]
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/0/projects/demo/shop",
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while True:
            try:
                issues = api.get("/issues/").json()
                transactions = api.get("/transactions/").json()
            except httpx.TransportError:
                issues, transactions = [], []
            errors = {i["metadata"].get("type") for i in issues if i["type"] == "error"}
            if {"KeyError", "ZeroDivisionError", "GatewayTimeout"} <= errors and transactions:
                break
            assert time.monotonic() < deadline, (issues, transactions)
            time.sleep(0.1)
        assert any(i["type"] == "performance_n_plus_one_db_queries" for i in issues)
        # The demo's alert rule mailed the new issues to its mail sink.
        while not list((tmp_path / "demo-mail").glob("*.eml")):
            assert time.monotonic() < deadline, "no alert mail"
            time.sleep(0.2)
        mail = next((tmp_path / "demo-mail").glob("*.eml")).read_bytes()
        assert b"Subject: [Vedette]" in mail and b"New issues in the shop" in mail
        api.close()
    finally:
        demo.terminate()  # the demo stops its shop and traffic children itself
        demo.wait(timeout=30)
        if demo.stdout is not None:
            demo.stdout.close()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{shop_port}/health", timeout=2)

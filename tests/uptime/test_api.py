"""The uptime API in Sentry's shape: create, list, read, change, delete monitors; their checks."""

from __future__ import annotations

from typing import Any

import pytest
from tests.performance.traffic import api_client
from tests.uptime.bench import UptimeBench
from tests.uptime.servers import Reply, Site

from vedette.storage.database import Database

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BODY = {
    "name": "Shop health",
    "url": "https://shop.example/health",
    "method": "GET",
    "headers": [["X-Token", "t"]],
    "body": None,
    "intervalSeconds": 60,
    "timeoutMs": 5000,
    "environment": "production",
}


def test_a_monitor_is_created_read_changed_and_deleted(db: Database) -> None:
    bench = UptimeBench(db)
    with api_client(db, bench.project) as api:
        created = api.request("POST", f"{api.base}/uptime/", json=BODY)
        assert created.status_code == 201, created.text
        monitor: dict[str, Any] = created.json()
        assert {k: monitor[k] for k in BODY} == BODY
        assert (monitor["uptimeStatus"], monitor["projectSlug"]) == ("pending", bench.project.slug)
        path = f"/uptime/{monitor['id']}/"
        assert api.get("/uptime/") == [monitor]
        changed = api.put(path, {"intervalSeconds": 300, "headers": {"X-Token": "u"}})
        assert (changed["intervalSeconds"], changed["headers"]) == (300, [["X-Token", "u"]])
        assert changed["url"] == BODY["url"]  # what the PUT left out stays
        assert api.request("DELETE", api.base + path).status_code == 204
        assert api.request("GET", api.base + path).status_code == 404
    bench.close()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"url": "ftp://shop.example/"}, "url must be"),
        ({"intervalSeconds": 10}, "intervalSeconds"),
        ({"intervalSeconds": 3601}, "intervalSeconds"),
        ({"timeoutMs": 60_000}, "timeoutMs"),
        ({"method": "BREW"}, "method"),
        ({"headers": [["Bad Name", "x"]]}, "header"),
        ({"name": ""}, "name"),
    ],
)
def test_monitors_that_cannot_work_are_a_400(
    db: Database, change: dict[str, Any], error: str
) -> None:
    bench = UptimeBench(db)
    with api_client(db, bench.project) as api:
        answer = api.request("POST", f"{api.base}/uptime/", json=BODY | change)
        assert answer.status_code == 400 and error in answer.json()["detail"]
    bench.close()


def test_checks_list_the_newest_first(db: Database) -> None:
    bench = UptimeBench(db)
    with Site(Reply(200)) as site, api_client(db, bench.project) as api:
        monitor_id = bench.monitor(site.url, interval_seconds=30)
        bench.step()
        site.default = Reply(502)
        bench.step(30)
        checks = api.get(f"/uptime/{monitor_id}/checks/")
        assert [(c["checkStatus"], c["httpStatusCode"]) for c in checks] == [
            ("failure", 502),
            ("success", 200),
        ]
        assert checks[0]["checkStatusReason"] == "status"
        other = UptimeBench(db)  # another project's monitor is not found through this one
        foreign = other.monitor(site.url)
        assert api.request("GET", f"{api.base}/uptime/{foreign}/").status_code == 404
        other.close()
    bench.close()

"""Sentry's ignore options through the issue API: until N more events, N more users, a date."""

from __future__ import annotations

from typing import Any

import pytest
from tests.alerts.bench import T0, AlertBench, error_event
from tests.performance.traffic import api_client

from vedette.storage.database import Database

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def put(api: Any, issue_id: int, body: dict[str, Any]) -> Any:
    return api.request("PUT", f"/api/0/issues/{issue_id}/", json=body)


@pytest.mark.parametrize(
    ("details", "more", "status"),
    [
        ({"ignoreCount": 3}, 2, "ignored"),
        ({"ignoreCount": 3}, 3, "unresolved"),
        ({"ignoreUserCount": 2}, 2, "unresolved"),
        (None, 50, "ignored"),
    ],
)
def test_ignore_until(db: Database, details: Any, more: int, status: str) -> None:
    now = T0
    bench = AlertBench(db)
    bench.send([error_event("checkout", now)], now)
    [issue_id] = bench.issue_ids()
    with api_client(db, bench.project) as api:
        body: dict[str, Any] = {"status": "ignored"}
        if details is not None:
            body["statusDetails"] = details
        assert put(api, issue_id, body).status_code == 200
        bench.send([error_event("checkout", now + 1, user=f"u{i}") for i in range(more)], now + 1)
        answer = api.request("GET", f"/api/0/issues/{issue_id}/").json()
        assert answer["status"] == status


@pytest.mark.parametrize(
    "details",
    [{"ignoreCount": -1}, {"ignoreDuration": "soon"}, {"ignoreUntil": "2001-01-01T00:00:00Z"}, 7],
)
def test_bad_ignore_options_are_a_400(db: Database, details: Any) -> None:
    bench = AlertBench(db)
    bench.send([error_event("checkout", T0)], T0)
    [issue_id] = bench.issue_ids()
    with api_client(db, bench.project) as api:
        answer = put(api, issue_id, {"status": "ignored", "statusDetails": details})
        assert answer.status_code == 400

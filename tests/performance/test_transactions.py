"""Transaction metrics against values computed directly from the raw transactions and spans.

Counts, failures and Apdex must be exact; percentiles within 1 % of the exact value at rank
floor(q * (n - 1)) of the sorted durations (domain/histogram.py documents the convention).
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.performance.traffic import (
    Span,
    api_client,
    create_project,
    durations,
    envelope,
    ingest,
    transaction,
)

from vedette.domain.histogram import exact_quantile
from vedette.processing.timestamps import parse_timestamp
from vedette.storage.database import Database

pytestmark = pytest.mark.time_sensitive

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
CAPTURED = 1795885560.0  # 2026-11-28T17:06:00Z, when the corpora were captured
WINDOW = {"start": str(CAPTURED - 3600), "end": str(CAPTURED + 60)}
FAILURE_FREE = {"ok", "cancelled", "unknown"}
QUANTILES = {"p50": 0.5, "p75": 0.75, "p95": 0.95, "p99": 0.99}


def expected_row(rows: list[dict[str, Any]], threshold: float = 300.0) -> dict[str, Any]:
    values = [r["duration"] for r in rows]
    satisfied = sum(1 for d in values if d <= threshold)
    tolerating = sum(1 for d in values if threshold < d <= 4 * threshold)
    return {
        "count": len(values),
        "failure_count": sum(1 for r in rows if r["status"] not in FAILURE_FREE),
        "apdex": (satisfied + tolerating / 2) / len(values),
        **{k: exact_quantile(values, q) for k, q in QUANTILES.items()},
    }


def assert_matches(row: dict[str, Any], expected: dict[str, Any], minutes: float) -> None:
    assert row["count"] == expected["count"]
    assert row["failure_count"] == expected["failure_count"]
    assert row["failure_rate"] == pytest.approx(expected["failure_count"] / expected["count"])
    assert row["apdex"] == pytest.approx(expected["apdex"], abs=1e-6)
    assert row["tpm"] == pytest.approx(expected["count"] / minutes, rel=1e-3)
    for key in QUANTILES:
        assert row[key] == pytest.approx(expected[key], rel=0.01), key


def generate(rng: random.Random, now: float, n: int) -> tuple[list[bytes], list[dict[str, Any]]]:
    """``n`` transactions over the last two hours: three names, two releases, two
    environments, all kinds of statuses; returns the envelopes and the raw facts."""
    names = ["GET /orders/{order_id}", "POST /checkout", "GET /catalog"]
    statuses = ["ok"] * 12 + [
        "not_found",
        "internal_error",
        "cancelled",
        "unknown_error",
        "deadline_exceeded",
        "unknown",
    ]
    envelopes, raw = [], []
    for duration in durations(rng, n):
        start = now - rng.uniform(60, 7000)
        name = rng.choice(names)
        status = rng.choice(statuses)
        release = rng.choice(["shop@1.0.0", "shop@1.1.0"])
        env = rng.choice(["prod", "staging"])
        payload = transaction(
            name, start, duration, status=status, release=release, environment=env
        )
        envelopes.append(envelope(("transaction", payload)))
        raw.append(
            {
                "name": name,
                "status": "unknown" if status == "unknown_error" else status,
                "release": release,
                "environment": env,
                "end": payload["timestamp"],
                "duration": (payload["timestamp"] - payload["start_timestamp"]) * 1000,
            }
        )
    return envelopes, raw


def test_transaction_rows_match_the_raw_transactions(db: Database) -> None:
    rng = random.Random(4)
    now = time.time()
    project = create_project(db)
    envelopes, raw = generate(rng, now, 1500)
    ingest(db, project.id, envelopes, received=now)
    ingest(db, project.id, envelopes[:300], received=now)  # re-delivered: counted once

    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in raw:
        by_name[r["name"]].append(r)
    with api_client(db, project) as api:
        rows = {r["transaction"]: r for r in api.get("/transactions/", statsPeriod="24h")}
        assert set(rows) == set(by_name)
        for name, members in by_name.items():
            assert_matches(rows[name], expected_row(members), 24 * 60)

        # Filters: environment and release, together.
        filtered = api.get(
            "/transactions/", statsPeriod="24h", environment="staging", release="shop@1.1.0"
        )
        for row in filtered:
            members = [
                r
                for r in by_name[row["transaction"]]
                if r["environment"] == "staging" and r["release"] == "shop@1.1.0"
            ]
            assert_matches(row, expected_row(members), 24 * 60)

        # start/end: whole minutes of the last hour only.
        start = math.floor((now - 3600) / 60) * 60
        end = now + 1
        hour = api.get("/transactions/", start=str(start), end=str(end))
        assert hour
        for row in hour:
            members = [r for r in by_name[row["transaction"]] if r["end"] >= start]
            assert_matches(row, expected_row(members), (end - start) / 60)


def test_apdex_threshold_is_a_project_setting(db: Database) -> None:
    now = time.time()
    project = create_project(db)
    with api_client(db, project) as api:
        assert api.get("/transaction-threshold/configure/")["threshold"] == 300.0
        assert (
            api.put("/transaction-threshold/configure/", {"metric": "duration", "threshold": 100})[
                "threshold"
            ]
            == 100.0
        )
        values = [50.0, 99.0, 150.0, 399.0, 401.0, 1000.0]
        ingest(
            db,
            project.id,
            [envelope(("transaction", transaction("GET /a", now - 10, d))) for d in values],
            received=now,
        )
        row = api.get("/transactions/")[0]
        # T = 100: satisfied 50, 99; tolerating 150, 399; frustrated 401, 1000.
        assert row["apdex"] == pytest.approx((2 + 2 / 2) / 6)


def test_summary_histogram_events_ops_and_releases(db: Database) -> None:
    rng = random.Random(7)
    now = math.floor(time.time() / 60) * 60
    start = now - 7200
    project = create_project(db)
    raw: list[tuple[float, float, str, float]] = []  # start, duration, release, db ms
    envelopes = []
    for i in range(400):
        late = i % 2 == 1  # the second hour: release 1.1.0, whose queries got slower
        t = start + (3600 if late else 0) + rng.uniform(0, 3500)
        query_ms = rng.uniform(15, 25) if late else rng.uniform(3, 6)
        spans = [
            Span(
                "db",
                f"SELECT * FROM orders WHERE id = {rng.randint(1, 99)}",
                2 + k * (query_ms + 1),
                query_ms,
            )
            for k in range(3)
        ]
        spans.append(Span("http.client", "GET https://payments/charge", 80, 30))
        duration = 120 + rng.uniform(0, 50)
        release = "shop@1.1.0" if late else "shop@1.0.0"
        payload = transaction("GET /orders/{order_id}", t, duration, spans=spans, release=release)
        envelopes.append(envelope(("transaction", payload)))
        raw.append(
            (
                t,
                (payload["timestamp"] - payload["start_timestamp"]) * 1000,
                release,
                sum(
                    (s["timestamp"] - s["start_timestamp"]) * 1000
                    for s in payload["spans"]
                    if s["op"] == "db"
                ),
            )
        )
    ingest(db, project.id, envelopes, received=now)
    with api_client(db, project) as api:
        summary = api.get(
            "/transactions/summary/",
            transaction="GET /orders/{order_id}",
            start=str(start),
            end=str(now + 60),
        )
    assert summary["count"] == 400
    assert sum(b["count"] for b in summary["histogram"]) == 400
    slowest = sorted((d for _t, d, _r, _q in raw), reverse=True)[:10]
    assert [e["duration"] for e in summary["slowest"]] == pytest.approx(slowest, abs=1e-3)
    recent = sorted((t for t, _d, _r, _q in raw), reverse=True)[:10]
    assert [e["start_timestamp"] for e in summary["recent"]] == pytest.approx(recent)
    ops = {o["op"]: o for o in summary["ops"]}
    assert ops["db"]["count"] == 1200
    assert ops["db"]["total_time"] == pytest.approx(sum(q for *_, q in raw), rel=1e-6)
    assert ops["http"]["total_time"] == pytest.approx(400 * 30, rel=1e-5)
    grown = summary["opsGrown"]
    assert grown[0]["op"] == "db" and grown[0]["after"] > 3 * grown[0]["before"]
    assert [r["release"] for r in summary["releases"]] == ["shop@1.1.0", "shop@1.0.0"]
    for row in summary["releases"]:
        mine = [d for _t, d, r, _q in raw if r == row["release"]]
        assert row["count"] == len(mine)
        assert row["p95"] == pytest.approx(exact_quantile(mine, 0.95), rel=0.01)


def test_slow_queries_group_by_normalised_sql(db: Database) -> None:
    rng = random.Random(11)
    now = time.time()
    project = create_project(db)
    lookups: list[float] = []
    envelopes = []
    for _ in range(120):
        q = [rng.uniform(1, 40) for _ in range(2)]
        spans = [
            Span("db", f"SELECT * FROM orders WHERE id = {rng.randint(1, 500)}", 1, q[0]),
            Span("db", f"SELECT * FROM orders WHERE id = '{rng.randint(1, 500)}'", 50, q[1]),
            Span(
                "db",
                f"SELECT * FROM lines WHERE order_id IN ({', '.join(['1'] * rng.randint(1, 9))})",
                100,
                2,
            ),
            Span("http.client", "GET /x", 110, 3),
        ]
        payload = transaction(
            "GET /orders/{order_id}", now - rng.uniform(10, 3000), 200, spans=spans
        )
        # The exact values come from the timestamps as sent, not from the intended durations.
        lookups += [
            (s["timestamp"] - s["start_timestamp"]) * 1000
            for s in payload["spans"]
            if "FROM orders" in s["description"]
        ]
        envelopes.append(envelope(("transaction", payload)))
    ingest(db, project.id, envelopes, received=now)
    with api_client(db, project) as api:
        rows = {r["description"]: r for r in api.get("/slow-queries/")}
    assert set(rows) == {
        "SELECT * FROM orders WHERE id = %s",
        "SELECT * FROM lines WHERE order_id IN (%s)",
    }
    orders = rows["SELECT * FROM orders WHERE id = %s"]
    assert orders["count"] == 240
    assert orders["total_time"] == pytest.approx(sum(lookups), abs=1e-3)
    assert orders["p95"] == pytest.approx(exact_quantile(lookups, 0.95), rel=0.01)
    assert orders["example"]["transaction"] == "GET /orders/{order_id}"
    assert rows["SELECT * FROM lines WHERE order_id IN (%s)"]["count"] == 120


def test_fastapi_corpus_transactions(db: Database) -> None:
    """The real sentry-sdk FastAPI captures: GET /orders/1 (200) and GET /orders/999 (404)."""
    project = create_project(db)
    files = [CORPORA / "sdk-python" / f"fastapi_transaction.{i}.envelope" for i in (1, 2)]
    payloads = [orjson.loads(path.read_bytes().split(b"\n")[2]) for path in files]
    ingest(db, project.id, [p.read_bytes() for p in files], received=CAPTURED)
    raw = []
    for p in payloads:
        start, end = parse_timestamp(p["start_timestamp"]), parse_timestamp(p["timestamp"])
        assert start is not None and end is not None
        raw.append({"duration": (end - start) * 1000, "status": p["contexts"]["trace"]["status"]})
    with api_client(db, project) as api:
        rows = api.get("/transactions/", **WINDOW)
        assert [r["transaction"] for r in rows] == ["/orders/{order_id}"]
        assert_matches(rows[0], expected_row(raw), 61)
        assert rows[0]["failure_rate"] == 0.5  # the 404 is not_found: a failure
        queries = api.get("/slow-queries/", **WINDOW)
        assert any("FROM orders" in q["description"] and "%s" in q["description"] for q in queries)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # whole minutes: the minute holding ``start`` counts, so does the one holding ``end``;
        # hours wholly inside come from the hourly rollup, the ragged edges from minutes
        ("10:00:30", "13:20:10", [("hour", "10:00", "13:00"), ("minute", "13:00", "13:21")]),
        ("10:00:00", "12:00:00", [("hour", "10:00", "12:00")]),
        ("10:05:00", "11:05:00", [("minute", "10:05", "11:05")]),
        ("10:00:00", "10:59:59", [("hour", "10:00", "11:00")]),
        ("09:59:00", "12:00:01", [("minute", "09:59", "10:00"), ("hour", "10:00", "12:00"),
                                  ("minute", "12:00", "12:01")]),
        # whole UTC days from the daily rollup
        ("27T22:30:00", "29T01:00:00", [("minute", "27T22:30", "27T23:00"),
                                        ("hour", "27T23:00", "28T00:00"),
                                        ("day", "28T00:00", "29T00:00"),
                                        ("hour", "29T00:00", "29T01:00")]),
    ],
)  # fmt: skip
def test_windows_split_into_hours_and_minutes(
    start: str, end: str, expected: list[tuple[str, str, str]]
) -> None:
    from vedette.storage.performance_queries import Window, _parts

    def ts(clock: str) -> float:
        day = "2026-11-" if "T" in clock else "2026-11-28T"
        seconds = "" if clock.count(":") == 2 else ":00"
        return parse_timestamp(f"{day}{clock}{seconds}Z") or 0.0

    parts = _parts(Window(1, ts(start), ts(end)))
    assert [(p.column, lo, hi) for p, lo, hi in parts] == [
        (column, ts(lo), ts(hi)) for column, lo, hi in expected
    ]


def test_bad_parameters_are_400_and_unknown_things_404(db: Database) -> None:
    project = create_project(db)
    with api_client(db, project) as api:
        for path, params, status in [
            ("/transactions/", {"statsPeriod": "forever"}, 400),
            ("/transactions/", {"statsPeriod": "365d"}, 400),
            ("/transactions/", {"start": "2026-11-28T10:00:00Z"}, 400),
            ("/transactions/", {"start": "yesterday", "end": "today"}, 400),
            ("/transactions/summary/", {}, 400),
            ("/transactions/summary/", {"transaction": "GET /nothing"}, 404),
            ("/traces/" + "f" * 32 + "/", {}, 404),
            ("/traces/not-a-trace/", {}, 404),
            ("/monitors/nope/checkins/", {}, 404),
            ("/events/" + "e" * 32 + "/waterfall/", {}, 404),
        ]:
            response = api.request("GET", api.base + path, params=params)
            assert response.status_code == status, (path, params, response.text)
        assert api.get("/transactions/", start="2026-11-28T10:00:00Z", end="1795885560") == []

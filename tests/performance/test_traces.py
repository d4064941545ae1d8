"""Span v2 segments, waterfalls and the trace view (errors linked to their transaction)."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from tests.performance.traffic import (
    Span,
    api_client,
    create_project,
    envelope,
    ingest,
    transaction,
)

from vedette.domain.histogram import exact_quantile
from vedette.storage.database import Database

pytestmark = pytest.mark.time_sensitive

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
CAPTURED = 1795885560.0  # 2026-11-28T17:06:00Z, when the corpora were captured
WINDOW = {"start": str(CAPTURED - 3600), "end": str(CAPTURED + 60)}


def test_node_span_container_becomes_a_transaction(db: Database) -> None:
    """@sentry/node 11 sends no transaction item: the segment span plays the transaction."""
    raw = (CORPORA / "sdk-node" / "transaction_spans.envelope").read_bytes()
    items = orjson.loads(raw.split(b"\n")[2])["items"]
    segment = next(i for i in items if i["is_segment"])
    project = create_project(db)
    ingest(db, project.id, [raw, raw], received=CAPTURED)  # the second copy changes nothing
    with api_client(db, project) as api:
        rows = api.get("/transactions/", **WINDOW)
        assert [(r["transaction"], r["count"], r["failure_rate"]) for r in rows] == [
            ("GET /api/orders/:id", 1, 0.0)
        ]
        duration = (segment["end_timestamp"] - segment["start_timestamp"]) * 1000
        assert rows[0]["p50"] == pytest.approx(duration, rel=0.01)
        trace = api.get(f"/traces/{segment['trace_id']}/")
        listed = api.get("/events/", type="transaction")
        assert [e["transaction"] for e in listed] == ["GET /api/orders/:id"]  # stored once
        event = api.get(f"/events/{listed[0]['eventID']}/")
    assert [t["transaction"] for t in trace["transactions"]] == ["GET /api/orders/:id"]
    # The segment's transaction event: its id is derived from (trace, segment), so stable.
    assert trace["transactions"][0]["eventID"] == listed[0]["eventID"]
    assert event["contexts"]["trace"]["span_id"] == segment["span_id"]
    assert {s["span_id"] for s in event["spans"]} == {
        i["span_id"] for i in items if not i["is_segment"]
    }
    spans = trace["spans"]
    assert len(spans) == 5
    assert spans[0]["span_id"] == segment["span_id"] and spans[0]["depth"] == 0
    depth = {s["span_id"]: s["depth"] for s in spans}
    for s in spans[1:]:
        assert depth[s["span_id"]] == depth[s["parent_span_id"]] + 1
        assert spans.index(s) > [x["span_id"] for x in spans].index(s["parent_span_id"])
    ops = {s["op"] for s in spans}
    assert ops == {"http.server", "db.query", "http.client", "cache.get", "serialize"}
    db_span = next(s for s in spans if s["op"] == "db.query")
    assert db_span["data"]["db.system"] == "postgresql"


def test_python_streamed_spans_and_v2_error_status(db: Database) -> None:
    project = create_project(db)
    raw = (CORPORA / "sdk-python" / "span_streaming.envelope").read_bytes()
    now = CAPTURED
    trace_id = "c" * 32
    failing = {
        "version": 2,
        "items": [
            {
                "trace_id": trace_id,
                "span_id": "d" * 16,
                "name": "GET /orders/:id",
                "status": "error",
                "is_segment": True,
                "start_timestamp": now - 5,
                "end_timestamp": now - 4.5,
                "attributes": {
                    "sentry.op": {"type": "string", "value": "http.server"},
                    "http.response.status_code": {"type": "integer", "value": 404},
                },
            },
        ],
    }
    body = orjson.dumps(failing)
    container = (
        orjson.dumps({"trace": {"trace_id": trace_id, "release": "node@1", "environment": "prod"}})
        + b"\n"
        + orjson.dumps(
            {
                "type": "span",
                "item_count": 1,
                "length": len(body),
                "content_type": "application/vnd.sentry.items.span.v2+json",
            }
        )
        + b"\n"
        + body
        + b"\n"
    )
    ingest(db, project.id, [raw, container], received=now)
    with api_client(db, project) as api:
        rows = {r["transaction"]: r for r in api.get("/transactions/", **WINDOW)}
        assert rows["nightly-invoice-batch"]["count"] == 1
        # v2 "error" + HTTP 404 is not_found, a failure (docs/protocol.md, "Span statuses").
        assert rows["GET /orders/:id"]["failure_rate"] == 1.0
        assert api.get("/transactions/", **WINDOW, release="node@1")[0]["count"] == 1


def test_waterfall_and_trace_link_errors_both_ways(db: Database) -> None:
    now = time.time()
    project = create_project(db)
    trace_id = "a" * 32
    backend = transaction(
        "POST /checkout",
        now - 10,
        200,
        trace_id=trace_id,
        spans=[
            Span("db", "SELECT 1", 5, 10),
            Span("payment", "charge", 20, 150),
            Span("http.client", "POST https://psp/charge", 30, 100, parent=1),
        ],
    )
    charge_span = backend["spans"][2]["span_id"]
    error = {
        "event_id": "e" * 32,
        "level": "error",
        "exception": {"values": [{"type": "PaymentDeclined", "value": "card declined"}]},
        "contexts": {"trace": {"trace_id": trace_id, "span_id": charge_span}},
    }
    ingest(
        db,
        project.id,
        [envelope(("transaction", backend)), envelope(("event", error))],
        received=now,
    )
    with api_client(db, project) as api:
        waterfall = api.get(f"/events/{backend['event_id']}/waterfall/")
        trace = api.get(f"/traces/{trace_id}/")
    spans = waterfall["spans"]
    assert [(s["op"], s["depth"]) for s in spans] == [
        ("http.server", 0),
        ("db", 1),
        ("payment", 1),
        ("http.client", 2),
    ]
    assert spans[0]["duration"] == pytest.approx(200, abs=1e-3)
    # payment (150 ms) minus its http.client child (100 ms)
    assert spans[2]["exclusive_time"] == pytest.approx(50, abs=1e-3)
    assert spans[3]["offset"] == pytest.approx(30, abs=1e-3)
    # Both ways: error -> the transaction it happened in, transaction -> its errors.
    (err,) = trace["errors"]
    assert err["eventID"] == "e" * 32 and err["spanID"] == charge_span
    assert err["transaction"]["eventID"] == backend["event_id"]
    (txn,) = trace["transactions"]
    assert txn["errors"] == ["e" * 32]
    assert next(s for s in trace["spans"] if s["span_id"] == charge_span)["errors"] == ["e" * 32]


def test_percentiles_stay_within_one_percent_over_many_minutes(db: Database) -> None:
    """Merging hundreds of per-minute histograms keeps the error bound."""
    import random

    rng = random.Random(99)
    now = time.time()
    project = create_project(db)
    values, envelopes = [], []
    for _ in range(3000):
        payload = transaction("GET /x", now - rng.uniform(0, 6 * 3600), rng.paretovariate(1.2) * 5)
        values.append((payload["timestamp"] - payload["start_timestamp"]) * 1000)
        envelopes.append(envelope(("transaction", payload)))
    ingest(db, project.id, envelopes, received=now)
    with api_client(db, project) as api:
        (row,) = api.get("/transactions/", statsPeriod="24h")
    errors = {
        key: abs(row[key] / exact_quantile(values, q) - 1)
        for key, q in (("p50", 0.5), ("p75", 0.75), ("p95", 0.95), ("p99", 0.99))
    }
    print(f"relative percentile errors vs exact: {errors}")
    assert max(errors.values()) < 0.01


def test_legacy_standalone_span_item(db: Database) -> None:
    """A v1-shaped single span without content type ("Span items"), e.g. a browser INP span."""
    now = time.time()
    project = create_project(db)
    span = {
        "trace_id": "b" * 32, "span_id": "1" * 16, "segment_id": "1" * 16, "is_segment": True,
        "op": "ui.interaction.click", "description": "body > button.buy",
        "start_timestamp": now - 2, "timestamp": now - 1.75, "exclusive_time": 250.0,
        "data": {"transaction": "/checkout", "sentry.op": "ui.interaction.click"},
    }  # fmt: skip
    ingest(db, project.id, [envelope(("span", span))], received=now)
    with api_client(db, project) as api:
        (row,) = api.get("/transactions/")
    assert (row["transaction"], row["count"]) == ("/checkout", 1)
    assert row["p50"] == pytest.approx(250, rel=0.01)


def test_span_detail_is_pruned_but_aggregates_stay(db: Database) -> None:
    from vedette.spool.worker import Worker, WorkerConfig

    now = time.time()
    project = create_project(db)
    payload = transaction("GET /old", now - 100, 50, spans=[Span("db", "SELECT 1", 1, 5)])
    ingest(db, project.id, [envelope(("transaction", payload))], received=now)
    worker = Worker(db, spool=None, config=WorkerConfig())  # type: ignore[arg-type]
    with api_client(db, project) as api:
        worker.cleanup(now + 29 * 86400)
        assert len(api.get(f"/traces/{payload['contexts']['trace']['trace_id']}/")["spans"]) == 2
        worker.cleanup(now + 31 * 86400)
        response = api.request(
            "GET", f"{api.base}/traces/{payload['contexts']['trace']['trace_id']}/"
        )
        assert response.status_code == 404  # no spans and no errors left in that trace
        assert api.get("/transactions/")[0]["count"] == 1
        assert api.get(f"/events/{payload['event_id']}/waterfall/")["spans"][1]["op"] == "db"

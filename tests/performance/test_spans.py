"""Span processing details: statuses, names, exclusive time (tables are the spec)."""

from __future__ import annotations

import pytest

from vedette.domain.performance import is_failure
from vedette.domain.traces import exclusive_times, waterfall
from vedette.processing.spans import container_rows, sanitize_transaction_name, span_status


@pytest.mark.parametrize(
    ("status", "http", "expected", "failure"),
    [
        ("ok", None, "ok", False),
        ("unknown_error", None, "unknown", False),
        ("cancelled", None, "cancelled", False),
        ("canceled", None, "cancelled", False),
        (None, None, "unknown", False),
        ("not_found", None, "not_found", True),
        ("internal_error", None, "internal_error", True),
        # span v2 has only ok/error: the HTTP status refines "error" ("Span statuses")
        ("error", 404, "not_found", True),
        ("error", 503, "unavailable", True),
        ("error", 499, "cancelled", False),
        ("error", None, "internal_error", True),
        ("garbage", 200, "ok", False),
    ],
)
def test_status_and_failure(
    status: str | None, http: int | None, expected: str, failure: bool
) -> None:
    assert span_status(status, http) == expected
    assert is_failure(expected) is failure


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("/orders/123/lines/7", "url", "/orders/*/lines/*"),
        ("/u/550e8400-e29b-41d4-a716-446655440000", "url", "/u/*"),
        ("/blob/deadbeef12345678", "url", "/blob/*"),
        ("/blog/cafe", "url", "/blog/cafe"),
        ("/orders/123", "route", "/orders/123"),  # only URL-sourced names are rewritten
    ],
)
def test_url_transaction_names_lose_their_ids(name: str, source: str, expected: str) -> None:
    assert sanitize_transaction_name(name, source) == expected


def test_exclusive_time_counts_overlapping_children_once() -> None:
    times = exclusive_times(
        [("p", None, 0.0, 1.0), ("a", "p", 0.1, 0.5), ("b", "p", 0.3, 0.6), ("c", "p", 0.9, 1.5)]
    )
    assert times["p"] == pytest.approx(1000 * (1.0 - 0.5 - 0.1))
    assert times["a"] == pytest.approx(400)


def test_waterfall_survives_cycles() -> None:
    placed = waterfall([("a", "b", 1.0), ("b", "a", 2.0), ("r", None, 0.0)])
    assert sorted(p.index for p in placed) == [0, 1, 2]


def test_v2_children_take_the_segments_sanitised_name() -> None:
    attrs = {"sentry.segment.name": {"value": "/orders/42"}, "sentry.op": {"value": "db"}}
    segment_attrs = {**attrs, "sentry.segment.name.source": {"value": "url"}}
    child_attrs = {**attrs, "sentry.segment.id": {"value": "1" * 16}}
    payload = {
        "items": [
            {"trace_id": "a" * 32, "span_id": "1" * 16, "is_segment": True, "status": "ok",
             "name": "/orders/42", "start_timestamp": 100.0, "end_timestamp": 101.0,
             "attributes": segment_attrs},
            {"trace_id": "a" * 32, "span_id": "2" * 16, "parent_span_id": "1" * 16,
             "status": "ok", "name": "SELECT 1", "start_timestamp": 100.1,
             "end_timestamp": 100.2, "attributes": child_attrs},
            {"trace_id": "bad"},
        ]
    }  # fmt: skip
    batch = container_rows(payload, {}, received=101.0, sent_at=None)
    assert batch.invalid == 1
    assert [r.transaction for r in batch.rows] == ["/orders/*", "/orders/*"]
    assert [f.name for f in batch.facts] == ["/orders/*"]
    assert batch.rows[0].exclusive_ms == pytest.approx(900)


@pytest.mark.parametrize(
    ("op", "name", "source", "url_path", "expected"),
    [
        # @sentry/browser 11 calls every page load "Pageload": the page's path names it
        ("pageload", "Pageload", "url", "/orders/42", "/orders/*"),
        ("navigation", "Navigation", "url", "/cart", "/cart"),
        # a route name chosen by a router integration stays
        ("pageload", "/orders/:id", "route", "/orders/42", "/orders/:id"),
        # server segments keep their name (method and route)
        ("http.server", "GET /orders/42", "url", "/orders/42", "GET /orders/*"),
    ],
)
def test_page_loads_are_named_after_their_page(
    op: str, name: str, source: str, url_path: str, expected: str
) -> None:
    attrs = {
        "sentry.op": {"value": op},
        "sentry.segment.name": {"value": name},
        "sentry.segment.name.source": {"value": source},
        "url.path": {"value": url_path},
    }
    payload = {
        "items": [
            {"trace_id": "a" * 32, "span_id": "1" * 16, "is_segment": True, "status": "ok",
             "name": name, "start_timestamp": 100.0, "end_timestamp": 101.0,
             "attributes": attrs},
        ]
    }  # fmt: skip
    batch = container_rows(payload, {}, received=101.0, sent_at=None)
    assert [f.name for f in batch.facts] == [expected]

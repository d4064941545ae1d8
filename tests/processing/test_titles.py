"""Issue titles, culprits, levels, types and metadata, over real SDK events and edge cases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vedette.domain.envelope import parse_envelope
from vedette.processing.titles import TITLE_MAX, normalize_level, summarize

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"


def envelope_items(raw: bytes) -> Iterator[tuple[dict[str, Any], bytes]]:
    """(item header, payload) pairs, read with the project's own envelope parser."""
    for item in parse_envelope(raw).items:
        yield item.headers, item.payload


def sdk_event(corpus: str, name: str) -> dict[str, Any]:
    for header, payload in envelope_items((CORPORA / corpus / name).read_bytes()):
        if header.get("type") == "event":
            event: dict[str, Any] = json.loads(payload)
            return event
    raise AssertionError(f"no event in {name}")


ZDE = "ZeroDivisionError: division by zero"
NODE_TYPE_ERROR = "TypeError: Cannot read properties of null (reading 'name')"

# (corpus, file, title, culprit, level, type): verified by reading each event.
FIXTURE_SUMMARIES = [
    ("sdk-python", "error_zero_division.envelope", ZDE, "gen_python in divide_inner", "error",
     "error"),
    ("sdk-python", "error_zero_division_other_site.envelope", ZDE,
     "gen_python in average_order_value", "error", "error"),
    ("sdk-python", "error_chained.envelope",
     "RuntimeError: configuration is incomplete: DATABASE_URL missing",
     "gen_python in load_database_url", "error", "error"),
    ("sdk-python", "error_exception_group.envelope", "ExceptionGroup: 2 background jobs failed",
     "gen_python in run_parallel_jobs", "error", "error"),
    ("sdk-python", "error_with_scope_data.envelope", "KeyError: 'shipping_address'",
     "gen_python in scenario_error_with_scope_data", "error", "error"),
    ("sdk-python", "message_levels.1.envelope", "Cache warmed: 1200 keys", "", "info", "default"),
    ("sdk-python", "message_levels.2.envelope", "Disk usage above 80% on /var", "", "warning",
     "default"),
    ("sdk-python", "logging_integration.1.envelope",
     "ConnectionError: stripe: connection reset while charging 2500",
     "gen_python in charge_card", "error", "error"),
    ("sdk-python", "logging_integration.2.envelope", "Order 17 left in state 'charging'", "",
     "error", "default"),
    ("sdk-python", "fastapi_unhandled_500.1.envelope",
     "LookupError: no price configured for SKU-42", "gen_python.read_item", "error", "error"),
    ("sdk-python", "fastapi_error_traced.1.envelope",
     "RuntimeError: inventory service refused reservation for order 5",
     "/orders/{order_id}/reserve", "error", "error"),
    ("sdk-python", "unicode_emoji.1.envelope",
     "Paiement refusé: carte expirée 💳 — 支付失败 — Ошибка оплаты ✓", "", "warning", "default"),
    ("sdk-node", "type_error_nested.2.envelope", NODE_TYPE_ERROR, "readCustomerName(gen_node)",
     "error", "error"),
    ("sdk-node", "uncaught_exception.2.envelope", NODE_TYPE_ERROR, "readCustomerName(gen_node)",
     "fatal", "error"),
    ("sdk-node", "scope_data.2.envelope", "Error: cart 9001 has no shipping address",
     "Object.run(gen_node)", "error", "error"),
    # captureMessage: a synthetic exception without type; titled by its message, no culprit.
    ("sdk-node", "capture_message.2.envelope", "Webhook queue drained", "", "info", "error"),
    ("sdk-node", "capture_message.3.envelope", "Slow checkout: 4200 ms", "", "warning", "error"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("corpus", "name", "title", "culprit", "level", "type_"), FIXTURE_SUMMARIES
)
def test_fixture_summaries(
    corpus: str, name: str, title: str, culprit: str, level: str, type_: str
) -> None:
    summary = summarize(sdk_event(corpus, name))
    assert (summary.title, summary.culprit, summary.level, summary.type) == (
        title,
        culprit,
        level,
        type_,
    )


def test_error_metadata() -> None:
    summary = summarize(sdk_event("sdk-python", "fastapi_unhandled_500.1.envelope"))
    assert summary.metadata == {
        "type": "LookupError",
        "value": "no price configured for SKU-42",
        "filename": "gen_python.py",
        "function": "price_for",
        "in_app_frame_mix": "mixed",
    }


def test_message_metadata() -> None:
    summary = summarize(sdk_event("sdk-python", "message_levels.1.envelope"))
    assert summary.metadata == {"title": "Cache warmed: 1200 keys"}


def test_synthetic_metadata_has_no_type() -> None:
    metadata = summarize(sdk_event("sdk-node", "capture_message.2.envelope")).metadata
    assert metadata["type"] is None
    assert metadata["value"] == "Webhook queue drained"
    assert metadata["function"] == "Object.run"


def exc(**fields: Any) -> dict[str, Any]:
    return {"exception": {"values": [fields]}}


IN_APP = {"module": "shop.orders", "function": "price", "in_app": True}
LIBRARY = {"module": "lib.cache", "function": "get", "in_app": False}

# (name, event, title, culprit)
EDGE_CASES = [
    ("no type", exc(value="boom"), "Error: boom", ""),
    ("no value", exc(type="KeyError"), "KeyError", ""),
    ("multi-line value", exc(type="ValueError", value="\n first\nsecond"), "ValueError: first", ""),
    ("synthetic without message", exc(
        value="x", mechanism={"synthetic": True},
        stacktrace={"frames": [{**IN_APP, "function": "notify"}]}), "notify", ""),
    ("synthetic without anything", exc(value="x", mechanism={"synthetic": True}), "<unknown>", ""),
    ("culprit from the top in-app frame", exc(
        type="E", value="v", stacktrace={"frames": [IN_APP, LIBRARY]}), "E: v",
     "shop.orders in price"),
    ("culprit from a system frame when none is in-app", exc(
        type="E", value="v", stacktrace={"frames": [LIBRARY]}), "E: v", "lib.cache in get"),
    ("site-packages is never in-app", exc(type="E", value="v", stacktrace={"frames": [
        IN_APP, {**LIBRARY, "in_app": True, "abs_path": "/venv/lib/site-packages/lib/c.py"}]}),
     "E: v", "shop.orders in price"),
    ("filename when no module", exc(type="E", value="v", stacktrace={"frames": [
        {"filename": "app.py", "function": "run", "in_app": True}]}), "E: v", "app.py in run"),
    ("transaction wins", {**exc(type="E", value="v", stacktrace={"frames": [IN_APP]}),
                          "transaction": " /orders/{id} "}, "E: v", "/orders/{id}"),
    ("legacy culprit", {**exc(type="E", value="v"), "culprit": "views.index"}, "E: v",
     "views.index"),
    ("request url", {**exc(type="E", value="v"), "request": {"url": "https://x.io/a"}}, "E: v",
     "https://x.io/a"),
    ("logentry formatted", {"logentry": {"message": "Hi %s", "params": ["bob"],
                                         "formatted": "Hi bob"}}, "Hi bob", ""),
    ("logentry without formatted", {"logentry": {"message": "Hi %s"}}, "Hi %s", ""),
    ("legacy message interface", {"sentry.interfaces.Message": {"message": "old"}}, "old", ""),
    ("first line of a message", {"message": "\n\n  line one  \nline two"}, "line one", ""),
    ("nothing", {}, "<unlabeled event>", ""),
    ("nulls everywhere", {"exception": None, "message": None, "logentry": None, "level": None},
     "<unlabeled event>", ""),
    ("garbage", {"exception": "boom", "logentry": 3, "transaction": ["x"], "tags": 7},
     "<unlabeled event>", ""),
    ("exception as a bare list", {"exception": [{"type": "E", "value": "v"}]}, "E: v", ""),
    ("the raised exception names the issue", {"exception": {"values": [
        {"type": "KeyError", "value": "'k'"}, {"type": "RuntimeError", "value": "wrapped"}]}},
     "RuntimeError: wrapped", ""),
    ("one distinct group child names the issue", {"exception": {"values": [
        {"type": "MyApp.Exception", "value": "Test 2",
         "mechanism": {"exception_id": 2, "parent_id": 0}},
        {"type": "MyApp.Exception", "value": "Test 1",
         "mechanism": {"exception_id": 1, "parent_id": 0}},
        {"type": "System.AggregateException", "value": "One or more errors occurred.",
         "mechanism": {"exception_id": 0, "is_exception_group": True}}]}},
     "MyApp.Exception: Test 1", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "event", "title", "culprit"), EDGE_CASES, ids=[case[0] for case in EDGE_CASES]
)
def test_edge_cases(name: str, event: dict[str, Any], title: str, culprit: str) -> None:
    summary = summarize(event)
    assert (summary.title, summary.culprit) == (title, culprit)


def test_long_titles_are_trimmed() -> None:
    summary = summarize({"message": "x" * 500})
    assert len(summary.title) == TITLE_MAX
    assert summary.title.endswith("...")
    assert len(summarize(exc(type="ValueError", value="y" * 500)).title) == TITLE_MAX


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("error", "error"),
        ("WARNING", "warning"),
        ("warn", "warning"),
        ("critical", "fatal"),
        ("log", "info"),
        (20, "info"),
        (50, "fatal"),
        (None, "error"),
        ("loud", "error"),
        (True, "error"),
    ],
)
def test_levels(level: object, expected: str) -> None:
    assert normalize_level(level) == expected
    assert summarize({"message": "m", "level": level}).level == expected


def test_security_reports() -> None:
    csp = summarize(
        {
            "logger": "csp",
            "csp": {"blocked_uri": "https://YYY", "violated_directive": "script-src",
                    "effective_directive": "script-src"},
            "logentry": {"formatted": "Blocked 'script' from 'YYY'"},
        }
    )  # fmt: skip
    assert (csp.type, csp.title) == ("csp", "Blocked 'script' from 'YYY'")
    assert csp.metadata == {"directive": "script-src", "uri": "YYY",
                            "message": "Blocked 'script' from 'YYY'"}  # fmt: skip
    bare = summarize({"csp": {"blocked_uri": "data:image/png", "violated_directive": "img-src"}})
    assert bare.title == "Blocked 'img' from 'data:'"
    expect_ct = summarize({"expectct": {"hostname": "example.com"}})
    assert (expect_ct.type, expect_ct.title) == ("expectct", "Expect-CT failed for 'example.com'")


def test_transactions() -> None:
    summary = summarize({"type": "transaction", "transaction": "/orders/{id}"})
    assert (summary.type, summary.title, summary.level) == ("transaction", "/orders/{id}", "info")

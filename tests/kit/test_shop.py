"""The reference app under its traffic mix, checked envelope by envelope.

One run of `examples.shop.traffic.drive` through the shop in-process: the events are exactly
the unexpected errors (plus the one handled gateway timeout), the transactions show the N+1
pattern, the slow query, the payment spans and the batch job, and no secret that the traffic
sent appears anywhere in what the SDK would post.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from examples.shop import traffic
from examples.shop.app import create_app
from examples.shop.db import User
from examples.shop.services import CARD_3DS, CARD_DECLINED, CARD_OK, CARD_TIMEOUT
from examples.shop.settings import ShopSettings
from fastapi import FastAPI
from sqlalchemy import select
from tests.kit.recording import RecordingTransport, exception_of, spans_of
from tests.kit.support import asgi_client, kit_settings, run, sdk_overrides

from vedette.kit import shutdown_monitoring

ROUNDS = 2


ShopRun = tuple[FastAPI, RecordingTransport, Counter[str], list[warnings.WarningMessage]]


@pytest.fixture(scope="module")
def shop_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopRun]:
    """One traffic run for the whole module (the tests only read what it recorded)."""
    transport = RecordingTransport()
    settings = ShopSettings(
        database_path=tmp_path_factory.mktemp("shop") / "shop.sqlite3",
        slow_report_seconds=0.01, gateway_latency_seconds=0.0,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = create_app(settings, kit_settings(), **sdk_overrides(transport))

        async def go() -> Counter[str]:
            async with asgi_client(app) as client:
                return await traffic.drive(client, ROUNDS)

        try:
            seen = run(go())
            yield app, transport, seen, list(caught)
        finally:
            shutdown_monitoring()


def test_no_deprecation_warning_anywhere(
    shop_run: ShopRun,
) -> None:
    *_, caught = shop_run
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []
    assert [w for w in caught if "sentry_sdk" in w.filename] == []


def test_the_mix_and_one_event_per_unexpected_error(
    shop_run: ShopRun,
) -> None:
    _, transport, seen, _ = shop_run
    assert seen["checkout 500"] == seen["recommendations-no-orders 500"] == ROUNDS
    assert seen["signup-duplicate 409"] == 2 * ROUNDS
    assert seen["checkout 402"] == seen["order-out-of-stock 409"] == ROUNDS
    assert seen["user-missing 404"] == seen["unauthenticated 401"] == ROUNDS
    events = transport.events()
    kinds = Counter(
        (exception_of(e)["type"], exception_of(e)["mechanism"]["handled"]) for e in events
    )
    assert kinds == {
        ("KeyError", False): ROUNDS,  # the 3-D Secure bug in checkout
        ("ZeroDivisionError", False): ROUNDS,  # recommendations for a user without orders
        ("GatewayTimeout", True): ROUNDS,  # handled, reported with its own fingerprint
    }
    timeout = next(e for e in events if exception_of(e)["type"] == "GatewayTimeout")
    assert timeout["fingerprint"] == ["payment-gateway-timeout", "fakepay"]
    assert timeout["tags"]["payment_provider"] == "fakepay"
    for event in events:
        assert event["tags"]["service"] == "shop"
        assert set(event["user"]) == {"id"}
        assert (event["environment"], event["release"]) == ("test", "shop@1.2.3")
    key_error = next(e for e in events if exception_of(e)["type"] == "KeyError")
    assert key_error["contexts"]["order"]["items_count"] == 2
    assert ("shop", "User started checkout of order") in {
        (c.get("category"), c.get("message", "")[:30]) for c in key_error["breadcrumbs"]["values"]
    }


def test_no_secret_leaves_the_process(
    shop_run: ShopRun,
) -> None:
    app, transport, _, _ = shop_run
    wire = transport.wire()
    with app.state.sessions() as session:
        user_tokens = list(session.scalars(select(User.api_token)))
    assert user_tokens
    markers = [
        traffic.SECRET_PASSWORD, traffic.SECRET_QUERY_TOKEN, traffic.SECRET_API_KEY,
        traffic.SECRET_COOKIE, *user_tokens,
        *(card.replace(" ", "") for card in (CARD_OK, CARD_DECLINED, CARD_TIMEOUT, CARD_3DS)),
        CARD_OK, CARD_3DS, "Ada Lovelace", "@example.com",
    ]  # fmt: skip
    leaked = [m for m in markers if m.encode() in wire]
    assert leaked == []
    search = next(
        t for t in transport.transactions() if t["transaction"].endswith("search_products")
    )
    assert "page=2" in search["request"]["query_string"]  # harmless parameters survive


def test_health_is_never_traced(
    shop_run: ShopRun,
) -> None:
    _, transport, seen, _ = shop_run
    assert seen["health 200"] == 3 * ROUNDS
    names = {t["transaction"] for t in transport.transactions()}
    assert "examples.shop.routes.health" not in names
    assert "examples.shop.routes.list_orders" in names


def by_name(transport: RecordingTransport, suffix: str) -> list[dict[str, Any]]:
    return [t for t in transport.transactions() if t["transaction"].endswith(suffix)]


def test_the_n_plus_one_pattern_is_visible(
    shop_run: ShopRun,
) -> None:
    _, transport, _, _ = shop_run
    for listing in by_name(transport, ".list_orders"):
        if listing["contexts"]["response"]["status_code"] != 200:
            continue
        repeated = Counter(
            (s["parent_span_id"], s["description"]) for s in spans_of(listing) if s["op"] == "db"
        )
        (_, statement), count = repeated.most_common(1)[0]
        assert count >= 5
        assert "FROM order_items" in statement


def test_slow_query_payment_and_batch_spans(
    shop_run: ShopRun,
) -> None:
    _, transport, _, _ = shop_run
    (report,) = by_name(transport, ".sales_report")
    assert any("sleep(" in s["description"] for s in spans_of(report) if s["op"] == "db")
    checkout = next(
        t for t in by_name(transport, ".checkout")
        if t["contexts"]["response"]["status_code"] == 200
    )  # fmt: skip
    spans = {s["op"]: s for s in spans_of(checkout)}
    assert spans["payment.process"]["description"] == "Process payment"
    assert spans["http.client"]["parent_span_id"] == spans["payment.process"]["span_id"]
    (retry, *_) = by_name(transport, ".retry_payments")
    batch = next(s for s in spans_of(retry) if s["op"] == "batch.process")
    assert batch["parent_span_id"] == retry["contexts"]["trace"]["span_id"]

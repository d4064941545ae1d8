"""Real ``sentry-sdk`` traffic for the UI tests: a FastAPI app served in-process and called.

Usage: ``python sdk_seed.py DSN``. ``GET /orders/7`` runs six identical queries one by one (an
N+1 the server detects), then fails with a chained exception whose frames carry local
variables; the FastAPI integration reports the error with its request and sends the
transaction. ``GET /health-check`` fails differently (a second issue). Tags, user and
breadcrumbs are set as an application would.
"""

from __future__ import annotations

import sys
import time

import sentry_sdk
from fastapi import FastAPI
from fastapi.testclient import TestClient


class PaymentDeclined(Exception):
    pass


def charge(order_id: int, cart: dict[str, object]) -> None:
    gateway_reply = {"code": "card_declined", "order": order_id}
    raise PaymentDeclined(f"gateway refused order {order_id}: {gateway_reply['code']}")


def build() -> FastAPI:
    app = FastAPI()

    @app.get("/orders/{order_id}")
    def order(order_id: int) -> dict[str, int]:
        sentry_sdk.set_tag("tenant", "acme-corp")
        sentry_sdk.set_user({"id": "4711", "email": "buyer@example.com"})
        sentry_sdk.add_breadcrumb(category="auth", message="buyer signed in", level="info")
        for line in range(6):
            with sentry_sdk.start_span(
                op="db", name=f"SELECT * FROM order_lines WHERE order_id = {line}"
            ):
                time.sleep(0.001)
        sentry_sdk.add_breadcrumb(category="payment", message="charging the card", level="info")
        cart = {"sku": "A-1", "quantity": 3, "coupon": None}
        try:
            charge(order_id, cart)
        except PaymentDeclined as exc:
            raise RuntimeError(f"checkout of order {order_id} failed") from exc
        return {"order": order_id}

    @app.get("/health-check")
    def health_check() -> dict[str, str]:
        sentry_sdk.set_tag("tenant", "globex")
        raise ValueError("database ping timed out")

    return app


def main() -> None:
    sentry_sdk.init(
        dsn=sys.argv[1],
        release="shop@2.0.0",
        environment="production",
        traces_sample_rate=1.0,
        include_local_variables=True,
    )
    client = TestClient(build(), raise_server_exceptions=False)
    for path in ("/orders/7", "/health-check"):
        response = client.get(path, headers={"User-Agent": "ui-tests/1.0"})
        assert response.status_code == 500, response.status_code
    sentry_sdk.flush(timeout=20)


if __name__ == "__main__":
    main()

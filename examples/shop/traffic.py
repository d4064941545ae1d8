"""A traffic mix for the shop: successes, expected errors, bugs, a slow query and an N+1.

    python -m examples.shop.traffic --url http://127.0.0.1:8001 --rounds 5

`drive` takes any ``httpx.AsyncClient`` (a real server, or ``ASGITransport`` in tests) and
returns what it saw, so callers can check the mix they produced.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx

from examples.shop.services import CARD_3DS, CARD_DECLINED, CARD_OK, CARD_TIMEOUT

# What a round sends; the secrets are markers tests look for in every envelope.
SECRET_PASSWORD = "hunter2-correct-horse"
SECRET_QUERY_TOKEN = "qtok-5d1c0ffee"
SECRET_API_KEY = "key-7f00ba5"
SECRET_COOKIE = "sess-c00c1e"


class Traffic:
    def __init__(self, client: httpx.AsyncClient, pause: float = 0.0) -> None:
        self.client = client
        self.pause = pause
        self.seen: Counter[str] = Counter()

    async def call(
        self, label: str, method: str, path: str, *, token: str | None = None, **kwargs: object
    ) -> httpx.Response:
        headers = {"X-Api-Key": SECRET_API_KEY, "Cookie": f"session={SECRET_COOKIE}"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = await self.client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # uvicorn closes a keep-alive connection after an unhandled error (the 500 went
            # out first); a request that raced onto it never reached the app: send it again.
            self.seen["retried on a closed connection"] += 1
            response = await self.client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        self.seen[f"{label} {response.status_code}"] += 1
        if self.pause:
            await asyncio.sleep(self.pause)
        return response

    async def signup(self, tenant: str) -> tuple[int, str]:
        email = f"{uuid.uuid4().hex[:10]}@example.com"
        response = await self.call(
            "signup", "POST", "/users",
            json={"email": email, "name": "Ada", "password": SECRET_PASSWORD, "tenant": tenant},
        )  # fmt: skip
        body = response.json()
        await self.call(
            "signup-duplicate", "POST", "/users",
            json={"email": email, "name": "Ada", "password": SECRET_PASSWORD, "tenant": tenant},
        )  # fmt: skip
        return int(body["id"]), str(body["token"])

    async def round(self, number: int, *, slow_report: bool) -> None:
        for _ in range(3):
            await self.call("health", "GET", "/health")
        user_id, token = await self.signup(f"tenant-{number % 4}")
        _, idle_token = await self.signup(f"tenant-{number % 4}-vip")
        await self.call("user", "GET", f"/users/{user_id}")
        await self.call("user-missing", "GET", "/users/999999")
        await self.call(
            "search", "GET", "/products/search",
            params={"q": "enamel", "page": "2", "token": SECRET_QUERY_TOKEN},
        )  # fmt: skip
        orders = []
        for index in range(6):
            response = await self.call(
                "order", "POST", "/orders", token=token,
                json={"items": [{"product_id": 1 + index % 5, "quantity": 1},
                                {"product_id": 2, "quantity": 2}]},
            )  # fmt: skip
            orders.append(int(response.json()["id"]))
        await self.call(
            "order-out-of-stock", "POST", "/orders", token=token,
            json={"items": [{"product_id": 6, "quantity": 1}]},
        )  # fmt: skip
        await self.call("orders-n+1", "GET", "/orders", token=token)
        await self.call("order-missing", "GET", "/orders/999999", token=token)
        await self.call("unauthenticated", "GET", "/orders")
        cards = [CARD_OK, CARD_DECLINED, CARD_TIMEOUT, CARD_3DS, CARD_OK]
        for order_id, card in zip(orders, cards, strict=False):
            paid = await self.call(
                "checkout", "POST", f"/orders/{order_id}/checkout", token=token,
                json={"card_number": card, "cvv": "123", "expiry": "12/30",
                      "cardholder": "Ada Lovelace"},
            )  # fmt: skip
            event_id = paid.json().get("event_id") if paid.status_code == 500 else None
            if event_id:  # the error page asks the user what happened
                await self.call(
                    "feedback", "POST", "/feedback",
                    json={"message": "I was charged but the page says something went wrong",
                          "name": "Ada", "event_id": event_id},
                )  # fmt: skip
        await self.call(
            "checkout-again", "POST", f"/orders/{orders[0]}/checkout", token=token,
            json={"card_number": CARD_OK, "cvv": "123", "expiry": "12/30"},
        )  # fmt: skip
        await self.call("recommendations", "GET", "/recommendations", token=token)
        await self.call("recommendations-no-orders", "GET", "/recommendations", token=idle_token)
        await self.call("retry-payments", "POST", "/admin/retry-payments")
        if slow_report:
            await self.call("slow-report", "GET", "/reports/sales")


async def drive(
    client: httpx.AsyncClient, rounds: int = 1, *, pause: float = 0.0, slow_report: bool = True
) -> Counter[str]:
    """Run ``rounds`` rounds of the mix; the slow report runs once (first round)."""
    traffic = Traffic(client, pause)
    for number in range(rounds):
        await traffic.round(number, slow_report=slow_report and number == 0)
    return traffic.seen


async def wait_until_up(
    url: str, timeout: float = 30.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {timeout} s")
            await sleep(0.1)


async def _main(url: str, rounds: int, pause: float, wait_for: list[str]) -> Counter[str]:
    for health_url in [f"{url}/health", *wait_for]:
        await wait_until_up(health_url)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await drive(client, rounds, pause=pause)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.shop.traffic")
    parser.add_argument("--url", default="http://127.0.0.1:8001", help="the shop")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.01, help="seconds between requests")
    parser.add_argument(
        "--wait-for", action="append", default=[], help="also wait for this URL to answer 200"
    )
    args = parser.parse_args()
    seen = asyncio.run(_main(args.url.rstrip("/"), args.rounds, args.pause, args.wait_for))
    total = sum(seen.values())
    print(f"sent {total} requests to {args.url}:")
    for label, count in sorted(seen.items()):
        print(f"  {count:4d}  {label}")


if __name__ == "__main__":
    main()

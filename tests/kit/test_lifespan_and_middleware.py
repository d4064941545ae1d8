"""The flush at shutdown, the request-context middleware and logging."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sentry_sdk
from fastapi import FastAPI
from starlette.types import Message
from tests.kit.recording import RecordingTransport
from tests.kit.support import asgi_client, run

from vedette.kit import instrument_app, monitoring_lifespan


async def lifespan_cycle(app: Any) -> list[str]:
    """Start and stop ``app`` through the ASGI lifespan protocol, as a server does."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    sent: list[str] = []

    async def send(message: Message) -> None:
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            await inbox.put({"type": "lifespan.shutdown"})

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send)
    return sent


def test_shutdown_flushes_once_off_the_event_loop(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor()
    started: list[int] = []

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[dict[str, int]]:
        started.append(1)
        yield {"answer": 42}

    app = FastAPI(lifespan=monitoring_lifespan(app_lifespan))

    @app.get("/state")
    async def state(request: Any) -> int:
        return int(request.state.answer)

    assert run(lifespan_cycle(app)) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert started == [1]
    assert len(transport.flushes) == 1
    assert transport.flushes[0] != threading.main_thread().name


def test_shutdown_without_monitoring_is_quiet() -> None:
    app = FastAPI(lifespan=monitoring_lifespan())
    assert run(lifespan_cycle(app)) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def build_app() -> FastAPI:
    app = FastAPI()
    instrument_app(app)

    @app.get("/orders/{order_id}")
    async def order(order_id: int) -> dict[str, int]:
        sentry_sdk.capture_message("looked at an order")
        return {"id": order_id}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/cancelled")
    async def cancelled() -> None:
        raise asyncio.CancelledError()

    return app


def test_request_context_on_events_and_transactions(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor()
    app = build_app()

    async def go() -> None:
        async with asgi_client(app) as client:
            await client.get("/orders/7", params={"page": "2", "q": "x", "token": "t-secret"})
            await client.get("/boom")

    run(go())
    message, error = transport.events()
    info = message["contexts"]["request_info"]
    assert (info["route"], info["method"]) == ("/orders/{order_id}", "GET")
    assert info["query_keys"] == ["page", "q"]  # keys only; never the sensitive one
    assert info["status_code"] is None  # captured before the answer
    assert error["contexts"]["request_info"]["status_code"] == 500
    assert error["contexts"]["request_info"]["route"] == "/boom"
    ok, failed = transport.transactions()  # these carry the same facts in their own fields
    assert "request_info" not in ok["contexts"]
    assert ok["contexts"]["response"]["status_code"] == 200
    assert failed["contexts"]["response"]["status_code"] == 500
    assert ok["request"]["query_string"] == "page=2&q=x&token=[Filtered]"
    assert b"t-secret" not in transport.wire()


def test_a_cancelled_request_is_not_an_event(monitor: Callable[..., RecordingTransport]) -> None:
    transport = monitor()
    app = build_app()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/cancelled", "raw_path": b"/cancelled", "query_string": b"",
        "root_path": "", "headers": [(b"host", b"shop")], "server": ("shop", 80),
        "client": ("127.0.0.1", 1234),
    }  # fmt: skip

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    async def go() -> None:
        with pytest.raises(asyncio.CancelledError):
            await app(scope, receive, send)

    run(go())
    assert transport.events() == []


def test_the_middleware_does_nothing_without_monitoring() -> None:
    app = build_app()

    async def go() -> int:
        async with asgi_client(app) as client:
            return (await client.get("/orders/1")).status_code

    assert run(go()) == 200


@pytest.fixture
def root_level() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


def test_info_logs_become_breadcrumbs_and_errors_events(
    monitor: Callable[..., RecordingTransport], root_level: None
) -> None:
    transport = monitor(log_level="INFO")
    log = logging.getLogger("shop.checkout")
    log.info("User started checkout with token=abc123secret")
    log.warning("Stock is low")
    log.error("Payment provider answered 500")
    sentry_sdk.capture_message("afterwards")
    error, message = transport.events()
    assert (error["logger"], error["level"]) == ("shop.checkout", "error")
    crumbs = [(c["category"], c["message"]) for c in message["breadcrumbs"]["values"]]
    assert ("shop.checkout", "User started checkout with token=[Filtered]") in crumbs
    assert ("shop.checkout", "Stock is low") in crumbs
    assert b"abc123secret" not in transport.wire()

"""Error capture: one event per unexpected error, marked unhandled, with its id in the 500
answer; none for expected errors; HTTPException as the integration defines it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import sentry_sdk
from fastapi import FastAPI, HTTPException
from tests.conftest import free_port
from tests.kit.recording import RecordingTransport, exception_of
from tests.kit.support import asgi_client, kit_settings, run

from vedette.kit import (
    ExpectedError,
    init_monitoring,
    instrument_app,
    monitoring_lifespan,
    shutdown_monitoring,
)


class Conflict(ExpectedError):
    status_code = 409
    default_detail = "Already there"


class LegacyNotFound(Exception):
    """A library's exception the app cannot subclass: declared expected at instrument time."""


def build_app() -> FastAPI:
    # Built after init_monitoring, as the kit requires (routes made earlier miss the patches).
    app = FastAPI(lifespan=monitoring_lifespan())
    instrument_app(app, expected_errors={LegacyNotFound: 404})

    @app.get("/async-boom")
    async def async_boom() -> None:
        raise RuntimeError("async boom")

    @app.get("/sync-boom")
    def sync_boom() -> None:
        raise RuntimeError("sync boom")

    @app.get("/capture-and-reraise")
    def capture_and_reraise() -> None:
        # Capture in the controller, then re-raise: 2 events in a sync endpoint without the kit.
        try:
            raise ValueError("captured then re-raised")
        except ValueError as error:
            sentry_sdk.capture_exception(error)
            raise

    @app.get("/http/{code}")
    async def http(code: int) -> None:
        raise HTTPException(status_code=code, detail="as raised")

    @app.get("/expected")
    async def expected() -> None:
        raise Conflict("user 7 exists")

    @app.get("/registered")
    def registered() -> None:
        raise LegacyNotFound("no such legacy thing")

    @app.post("/json-boom")
    async def json_boom(body: dict[str, Any]) -> None:
        raise RuntimeError("bad payload")

    return app


@pytest.fixture
def app_and_transport(
    monitor: Callable[..., RecordingTransport],
) -> tuple[FastAPI, RecordingTransport]:
    transport = monitor(sentry_failed_status_codes="403,500-599")
    return build_app(), transport


def get(app: FastAPI, path: str, **kwargs: Any) -> Any:
    async def go() -> Any:
        async with asgi_client(app) as client:
            return await client.request(kwargs.pop("method", "GET"), path, **kwargs)

    return run(go())


@pytest.mark.parametrize("path", ["/async-boom", "/sync-boom", "/capture-and-reraise"])
def test_one_unhandled_event_per_unexpected_error_and_its_id_in_the_answer(
    app_and_transport: tuple[FastAPI, RecordingTransport], path: str
) -> None:
    app, transport = app_and_transport
    response = get(app, path)
    assert response.status_code == 500
    body = response.json()
    assert body["detail"] == "Internal server error"
    (event,) = transport.events()
    assert body["event_id"] == event["event_id"]
    if path != "/capture-and-reraise":
        mechanism = exception_of(event)["mechanism"]
        assert (mechanism["type"], mechanism["handled"]) == ("starlette", False)


def test_the_same_error_twice_is_two_events(
    app_and_transport: tuple[FastAPI, RecordingTransport],
) -> None:
    app, transport = app_and_transport
    first, second = get(app, "/sync-boom"), get(app, "/sync-boom")
    assert first.json()["event_id"] != second.json()["event_id"]
    assert len(transport.events()) == 2


@pytest.mark.parametrize(
    ("path", "status", "events"),
    [
        ("/http/404", 404, 0),
        ("/http/409", 409, 0),
        ("/http/403", 403, 1),  # listed in failed status codes, on both integrations
        ("/http/500", 500, 1),
        ("/http/503", 503, 1),  # 0 events when the SDK is initialised in the lifespan
        ("/expected", 409, 0),
        ("/registered", 404, 0),
    ],
)
def test_http_exceptions_and_expected_errors(
    app_and_transport: tuple[FastAPI, RecordingTransport], path: str, status: int, events: int
) -> None:
    app, transport = app_and_transport
    response = get(app, path)
    assert response.status_code == status
    assert len(transport.events()) == events
    if events:
        mechanism = exception_of(transport.events()[0])["mechanism"]
        assert mechanism["handled"] is True  # raised HTTPException: the app answered it
    if path == "/expected":
        assert response.json() == {"detail": "user 7 exists"}


def test_expected_errors_are_never_reported_even_when_captured_by_hand(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor()
    build_app()  # declares LegacyNotFound expected, whichever tests ran before in this process
    sentry_sdk.capture_exception(Conflict("by hand"))
    sentry_sdk.capture_exception(LegacyNotFound("by hand"))
    sentry_sdk.capture_exception(asyncio.CancelledError())
    sentry_sdk.capture_exception(RuntimeError("real"))
    assert [exception_of(e)["type"] for e in transport.events()] == ["RuntimeError"]


def test_an_error_on_a_json_post_carries_the_scrubbed_body(
    app_and_transport: tuple[FastAPI, RecordingTransport],
) -> None:
    app, transport = app_and_transport
    response = get(
        app, "/json-boom", method="POST",
        json={"password": "pw-secret", "card": "4242424242424242", "items": 3},
    )  # fmt: skip
    assert response.status_code == 500
    (event,) = transport.events()
    data = event["request"]["data"]
    assert data["items"] == 3
    assert data["password"] == data["card"] == "[Filtered]"
    assert b"pw-secret" not in transport.wire()


def test_frame_variables_when_switched_on_are_scrubbed(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor(sentry_include_local_variables=True)
    app = FastAPI()
    instrument_app(app)

    @app.get("/locals")
    def with_locals() -> None:
        auth_header = "Bearer lv-token-secret"
        body = {"password": "lv-pass-secret", "note": "card 4242 4242 4242 4242"}
        order_count = 3
        raise RuntimeError(f"failed after {order_count} orders ({len(auth_header) + len(body)})")

    assert get(app, "/locals").status_code == 500
    (event,) = transport.events()
    frame = exception_of(event)["stacktrace"]["frames"][-1]
    assert frame["vars"]["order_count"] == "3"  # variables are there (as reprs)...
    wire = transport.wire()
    for marker in (b"lv-token-secret", b"lv-pass-secret", b"4242 4242"):
        assert marker not in wire  # ...but not the secrets in them


def test_a_dead_dsn_leaves_the_app_answering() -> None:
    """The real HTTP transport towards a port nobody listens on: the app answers as usual."""
    dead = f"http://public@127.0.0.1:{free_port()}/1"
    assert init_monitoring(kit_settings(sentry_dsn=dead, sentry_shutdown_timeout=0.5))
    try:
        app = build_app()
        paths = ["/http/409", "/sync-boom", "/expected", "/async-boom"]
        assert [get(app, path).status_code for path in paths] == [409, 500, 409, 500]
    finally:
        shutdown_monitoring(timeout=0.5)

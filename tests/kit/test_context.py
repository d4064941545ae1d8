"""Users (no PII unless allowed), one-off tags and contexts, and their isolation between requests
and tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import sentry_sdk
from fastapi import Depends, FastAPI, Header, Request
from tests.kit.recording import RecordingTransport, exception_of
from tests.kit.support import asgi_client, run

from vedette.kit import (
    instrument_app,
    monitored_user,
    report_exception,
    report_message,
    user_from_request_state,
)


class Account:
    def __init__(self, user_id: str) -> None:
        self.id = user_id
        self.email = f"{user_id}@example.com"
        self.username = f"name-{user_id}"


def current_account(x_user: Annotated[str, Header()]) -> Account:
    return Account(x_user)


Monitored = Annotated[Account, Depends(monitored_user(current_account))]


def build_app() -> FastAPI:
    app = FastAPI()
    instrument_app(app)

    @app.get("/work/{n}")
    async def work(n: int, account: Monitored, tenant: Annotated[str, Header()]) -> None:
        sentry_sdk.set_tag("tenant_id", tenant)
        sentry_sdk.set_context("job", {"n": n, "account": account.id})
        await asyncio.sleep(0.001 * (n % 7))  # interleave the requests
        raise RuntimeError(f"work {n} failed")

    @app.get("/state", dependencies=[Depends(user_from_request_state)])
    async def state(request: Request) -> dict[str, bool]:
        sentry_sdk.capture_message("from state")
        return {"ok": True}

    @app.middleware("http")
    async def fake_auth(request: Request, call_next: Any) -> Any:  # sets request.state.user
        request.state.user = Account("state-user")
        return await call_next(request)

    return app


def test_200_concurrent_requests_never_mix_users_tags_or_contexts(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor(sentry_traces_sample_rate=1.0)
    app = build_app()

    async def go() -> None:
        async with asgi_client(app) as client:
            responses = await asyncio.gather(
                *(
                    client.get(f"/work/{n}", headers={"x-user": f"u{n}", "tenant": f"t{n}"})
                    for n in range(200)
                )
            )
        assert {r.status_code for r in responses} == {500}

    run(go())
    events = transport.events()
    assert len(events) == 200
    for event in events:
        n = int(exception_of(event)["value"].split()[1])
        assert event["user"] == {"id": f"u{n}"}  # the id only: no email, no username
        assert event["tags"]["tenant_id"] == f"t{n}"
        assert event["contexts"]["job"] == {"n": n, "account": f"u{n}"}
        assert event["contexts"]["request_info"]["route"] == "/work/{n}"
    transactions = transport.transactions()
    assert len(transactions) == 200
    for transaction in transactions:
        n = transaction["contexts"]["job"]["n"]
        assert transaction["user"] == {"id": f"u{n}"}
        assert transaction["tags"]["tenant_id"] == f"t{n}"


def test_email_and_username_only_when_pii_is_allowed(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor(sentry_send_user_pii=True)
    app = build_app()

    async def go() -> None:
        async with asgi_client(app) as client:
            await client.get("/work/1", headers={"x-user": "u1", "tenant": "t1"})

    run(go())
    (event,) = transport.events()
    assert event["user"] == {"id": "u1", "email": "u1@example.com", "username": "name-u1"}


def test_the_request_state_dependency_sends_the_id(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor()
    app = build_app()

    async def go() -> None:
        async with asgi_client(app) as client:
            assert (await client.get("/state")).status_code == 200

    run(go())
    (event,) = transport.events()
    assert event["user"] == {"id": "state-user"}


def test_fingerprint_tags_and_contexts_stay_on_their_one_event(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor()
    try:
        raise ConnectionError("provider down")
    except ConnectionError as error:
        event_id = report_exception(
            error,
            fingerprint=["payment-error", "stripe"],
            tags={"payment_method": "credit_card"},
            contexts={"user_action": {"action": "checkout", "cart_id": 7}},
        )
    report_message("afterwards", level="warning")
    first, second = transport.events()
    assert first["event_id"] == event_id
    assert first["fingerprint"] == ["payment-error", "stripe"]
    assert first["tags"]["payment_method"] == "credit_card"
    assert first["contexts"]["user_action"] == {"action": "checkout", "cart_id": 7}
    assert exception_of(first)["mechanism"]["handled"] is True
    assert (second["message"], second["level"]) == ("afterwards", "warning")
    assert "fingerprint" not in second
    assert "payment_method" not in second.get("tags", {})
    assert "user_action" not in second.get("contexts", {})


def test_process_tags_from_settings_reach_every_event_and_leave_with_shutdown(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor(sentry_tags={"service": "billing"})
    sentry_sdk.capture_message("one")
    with sentry_sdk.isolation_scope():
        sentry_sdk.capture_message("two")
    assert [e["tags"]["service"] for e in transport.events()] == ["billing", "billing"]

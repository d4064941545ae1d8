"""The path sampler: health probes never, an upstream decision always, then per-path rates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from tests.kit.recording import RecordingTransport
from tests.kit.support import asgi_client, run

from vedette.kit import PathSampler, instrument_app

SAMPLER = PathSampler(0.1, {"/api": 0.5, "/api/v1/high-traffic": 0.01}, ["/health", "/ready"])
TRACE = "771a43a4192642f0b136d5159a501700"


def context(path: str | None, parent: bool | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"parent_sampled": parent, "transaction_context": {"name": "x"}}
    if path is not None:
        found["asgi_scope"] = {"type": "http", "path": path}
    return found


@pytest.mark.parametrize(
    ("path", "parent", "rate"),
    [
        ("/health", None, 0.0),
        ("/health/", None, 0.0),
        ("/health/db", None, 0.0),
        ("/health", True, 0.0),  # probes stay untraced even under a sampled caller
        ("/healthy-cats", None, 0.1),
        ("/api/v1/high-traffic/items", None, 0.01),  # the longest prefix wins
        ("/api/orders", None, 0.5),
        ("/orders", None, 0.1),
        ("/orders", True, 1.0),  # the caller's decision is honoured
        ("/api/v1/high-traffic", False, 0.0),
        (None, None, 0.1),  # a background job: the default
        (None, True, 1.0),
    ],
)
def test_rates(path: str | None, parent: bool | None, rate: float) -> None:
    assert SAMPLER(context(path, parent)) == rate


def build_app() -> FastAPI:
    app = FastAPI()
    instrument_app(app)

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/health/boom")
    async def health_boom() -> None:
        raise RuntimeError("the database is gone")

    @app.get("/orders")
    async def orders() -> list[int]:
        return []

    return app


def test_health_is_never_traced_but_its_errors_are_reported(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor(sentry_traces_sample_rate=1.0)
    app = build_app()

    async def go() -> None:
        async with asgi_client(app) as client:
            for _ in range(1000):
                assert (await client.get("/health")).status_code == 200
            assert (await client.get("/health/boom")).status_code == 500

    run(go())
    assert transport.transactions() == []
    assert len(transport.events()) == 1


def test_an_upstream_sampling_decision_is_honoured(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor(sentry_traces_sample_rate=0.0)
    app = build_app()

    async def go() -> None:
        async with asgi_client(app) as client:
            for index in range(50):
                span_id = f"{index:016x}"
                await client.get("/orders", headers={"sentry-trace": f"{TRACE}-{span_id}-1"})
            for index in range(50):
                await client.get("/orders", headers={"sentry-trace": f"{TRACE}-{index:016x}-0"})
            for _ in range(50):
                await client.get("/orders")

    run(go())
    transactions = transport.transactions()
    assert len(transactions) == 50
    assert {t["contexts"]["trace"]["trace_id"] for t in transactions} == {TRACE}


def test_rules_from_settings_apply_per_path(monitor: Callable[..., RecordingTransport]) -> None:
    transport = monitor(sentry_traces_sample_rate=0.0, sentry_traces_sample_rules={"/orders": 1.0})
    app = build_app()

    async def go() -> None:
        async with asgi_client(app) as client:
            for _ in range(20):
                await client.get("/orders")

    run(go())
    assert len(transport.transactions()) == 20

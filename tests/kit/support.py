"""Helpers for the kit's tests: settings from arguments only, an in-process client."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
from sentry_sdk.integrations.httpx import HttpxIntegration
from tests.kit.recording import RecordingTransport

from vedette.kit import MonitoringSettings

DSN = "https://public@example.invalid/1"
T = TypeVar("T")


def kit_settings(**values: Any) -> MonitoringSettings:
    """Settings from the arguments (no .env); a DSN, full sampling, and a release by default."""
    values.setdefault("sentry_dsn", DSN)
    values.setdefault("sentry_traces_sample_rate", 1.0)
    values.setdefault("environment", "test")
    values.setdefault("app_version", "shop@1.2.3")
    return MonitoringSettings(_env_file=None, **values)  # type: ignore[call-arg]


def sdk_overrides(transport: RecordingTransport) -> dict[str, Any]:
    # The test's own httpx client must not add sentry-trace headers to what it sends.
    return {"transport": transport, "disabled_integrations": [HttpxIntegration()]}


def asgi_client(app: Any) -> httpx.AsyncClient:
    """In-process HTTP through the app's ASGI interface; a 500 stays a response."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app, raise_app_exceptions=False), base_url="http://shop"
    )


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)

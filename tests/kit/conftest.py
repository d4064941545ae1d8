"""Fixtures for the kit: monitoring switched on with a recording transport, and the shop.

The SDK is process-global: each test initialises it through the kit and the fixture shuts it
down afterwards (the client is closed and replaced by the SDK's no-op client).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from examples.shop.app import create_app
from examples.shop.settings import ShopSettings
from fastapi import FastAPI
from tests.kit.recording import RecordingTransport
from tests.kit.support import kit_settings, sdk_overrides

from vedette.kit import init_monitoring, shutdown_monitoring


@pytest.fixture
def monitor() -> Iterator[Callable[..., RecordingTransport]]:
    """``transport = monitor(sentry_traces_sample_rate=0.5, ...)``: monitoring on, recorded."""

    def start(**values: Any) -> RecordingTransport:
        transport = RecordingTransport()
        assert init_monitoring(kit_settings(**values), **sdk_overrides(transport))
        return transport

    yield start
    shutdown_monitoring()


@pytest.fixture
def make_shop(tmp_path: Path) -> Iterator[Callable[..., tuple[FastAPI, RecordingTransport]]]:
    """``app, transport = make_shop(**monitoring_settings)``: the shop on a fresh database."""

    def build(**values: Any) -> tuple[FastAPI, RecordingTransport]:
        transport = RecordingTransport()
        shop = ShopSettings(
            database_path=tmp_path / "shop.sqlite3", slow_report_seconds=0.01,
            gateway_latency_seconds=0.0,
        )  # fmt: skip
        app = create_app(shop, kit_settings(**values), **sdk_overrides(transport))
        return app, transport

    yield build
    shutdown_monitoring()

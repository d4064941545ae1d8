"""vedette.kit's structured logs: off unless SENTRY_ENABLE_LOGS, Python logging records from
SENTRY_LOGS_LEVEL up, scrubbed like events (what the SDK would send, recorded)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sentry_sdk
from tests.kit.recording import RecordingTransport
from tests.kit.support import kit_settings, sdk_overrides

from vedette.kit import init_monitoring, shutdown_monitoring
from vedette.kit.setup import sdk_options


@pytest.fixture
def monitor() -> Iterator[Callable[..., RecordingTransport]]:
    def start(**values: Any) -> RecordingTransport:
        transport = RecordingTransport()
        assert init_monitoring(kit_settings(**values), **sdk_overrides(transport))
        return transport

    yield start
    shutdown_monitoring()


def sent_logs(transport: RecordingTransport) -> list[dict[str, Any]]:
    sentry_sdk.flush()
    return [record for item in transport.items("log") for record in item["items"]]


def test_logs_are_off_by_default(monitor: Callable[..., RecordingTransport]) -> None:
    assert sdk_options(kit_settings())["enable_logs"] is False
    transport = monitor()
    sentry_sdk.logger.info("not sent")
    assert sent_logs(transport) == []


def test_logger_and_logging_records_become_scrubbed_logs(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor(sentry_enable_logs=True, sentry_logs_level="WARNING")
    sentry_sdk.logger.info("Paid order {order_id}", order_id=7, api_token="tok-123456789")
    shop = logging.getLogger("shop.checkout")
    shop.setLevel(logging.DEBUG)
    shop.info("below the logs level")
    shop.warning("card %s declined", "4111 1111 1111 1111")
    records = sent_logs(transport)
    assert [r["body"] for r in records] == ["Paid order 7", "card [Filtered] declined"]
    paid = records[0]["attributes"]
    assert paid["sentry.message.parameter.order_id"] == {"value": 7, "type": "integer"}
    assert paid["sentry.message.parameter.api_token"]["value"] == "[Filtered]"
    assert records[1]["attributes"]["logger.name"]["value"] == "shop.checkout"

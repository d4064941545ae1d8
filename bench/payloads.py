"""Envelopes made by the real sentry-sdk, captured in-process (no network) for replay.

``error``: an exception 20 frames deep with local variables (about 50 KB of JSON, gzip as the SDK
sends it); ``transaction``: a transaction with 20 spans. Each replayed request gets a fresh event
id by substituting the captured one (both appear as 32 hex characters).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

# The DSN the envelopes were captured with: its envelope header names it, and servers that
# authenticate by that header (Bugsink does) need it replaced by their own (bench/loadgen.py).
CAPTURE_DSN = "http://0123456789abcdef0123456789abcdef@127.0.0.1:1/1"


@dataclass(frozen=True)
class Payload:
    name: str
    body: bytes  # gzip-compressed envelope, as the SDK's HttpTransport sends it
    event_id: str
    raw_size: int


class _Capture(Transport):
    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


def _recurse(depth: int, blob: str, rows: list[dict[str, object]]) -> None:
    local_text = blob  # noqa: F841  (captured as a frame variable)
    local_rows = rows  # noqa: F841
    if depth == 0:
        raise ValueError(f"order total mismatch after {len(rows)} rows")
    _recurse(depth - 1, blob, rows)


def _capture(make: Any) -> Envelope:
    transport = _Capture()
    sentry_sdk.init(
        dsn=CAPTURE_DSN,
        transport=transport,
        traces_sample_rate=1.0,
        release="bench@1.0.0",
        environment="bench",
        max_value_length=4096,
        default_integrations=False,
    )
    make()
    sentry_sdk.flush()
    sentry_sdk.get_client().close()
    return transport.envelopes[-1]


def _error() -> None:
    blob = ",".join(f"{i * 7919 % 10007:05d}" for i in range(150))
    rows = [{"sku": f"SKU-{i * 31 % 997}", "qty": i, "price": i * 1.5} for i in range(12)]
    try:
        _recurse(18, blob, rows)
    except ValueError:
        sentry_sdk.capture_exception()


def _transaction() -> None:
    with sentry_sdk.start_transaction(op="http.server", name="GET /orders/{order_id}"):
        for i in range(20):
            with sentry_sdk.start_span(op="db", name=f"SELECT * FROM orders WHERE id = {i}"):
                pass


def _payload(name: str, envelope: Envelope) -> Payload:
    raw = envelope.serialize()
    event_id = envelope.headers["event_id"]
    return Payload(name, gzip.compress(raw, 9), event_id, len(raw))


def build_payloads() -> dict[str, Payload]:
    return {
        "error": _payload("error", _capture(_error)),
        "transaction": _payload("transaction", _capture(_transaction)),
    }

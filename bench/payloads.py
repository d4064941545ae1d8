"""Envelopes made by the real sentry-sdk, captured in-process (no network) for replay.

``error``: an exception 20 frames deep with local variables (about 50 KB of JSON, gzip as the SDK
sends it); ``transaction``: a transaction with 20 spans; ``log``: one ``log`` item of 100 records
from ``sentry_sdk.logger`` (``enable_logs=True``), as the SDK's log batcher sends them. Each
replayed request gets a fresh event id by substituting the captured one (both appear as 32 hex
characters); a log envelope has no event id, so its records' trace id is substituted instead
(each request a new trace).

Errors of other shapes (the digest's cost should not hinge on one): ``error-varied`` (about
48 KB: 19 frames of different functions, each with about 1.2 KB of its own local variables,
40 breadcrumbs, a request and a user), ``error-tags`` (an exception with 60 tags and 8
contexts) and ``error-message`` (a captured 4 KB log message full of ids, numbers and
addresses, no stack trace).
"""

from __future__ import annotations

import gzip
import json
import types
from dataclasses import dataclass
from typing import Any

import sentry_sdk
from sentry_sdk import logger
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

# The DSN the envelopes were captured with: its envelope header names it, and servers that
# authenticate by that header (Bugsink does) need it replaced by their own (bench/loadgen.py).
CAPTURE_DSN = "http://0123456789abcdef0123456789abcdef@127.0.0.1:1/1"


@dataclass(frozen=True)
class Payload:
    name: str
    body: bytes  # gzip-compressed envelope, as the SDK's HttpTransport sends it
    event_id: str  # the id replaced per request (a log envelope's: its records' trace id)
    raw_size: int
    records: int = 1  # what one accepted envelope counts for: events, or log records


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


def _capture(make: Any, **options: Any) -> Envelope:
    transport = _Capture()
    sentry_sdk.init(
        dsn=CAPTURE_DSN,
        transport=transport,
        traces_sample_rate=1.0,
        release="bench@1.0.0",
        environment="bench",
        max_value_length=4096,
        default_integrations=False,
        **options,
    )
    with sentry_sdk.isolation_scope():  # tags, breadcrumbs and users stay with one capture
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


# -- error-varied: a web request failing deep in varied application code ------------------------


def _frame_locals(depth: int) -> dict[str, object]:
    """About 1.2 KB of serialised local variables, different at every depth."""
    order_id = 48_213 + depth * 7919
    return {
        "order_id": order_id,
        "customer": {"id": f"cus_{order_id * 31 % 100_003:06d}", "tier": ["free", "pro", "team"][
            depth % 3], "country": ["DE", "FR", "US", "BR", "JP"][depth % 5], "seats": depth + 3},
        "lines": [{"sku": f"SKU-{(depth * 13 + i) % 997}", "qty": i + 1, "price": round(
            (depth + i) * 3.7, 2)} for i in range(4)],
        "query": f"SELECT id, status, total FROM orders WHERE customer_id = {order_id} AND "
        f"created_at > '2026-0{depth % 9 + 1}-01' ORDER BY id DESC LIMIT {depth + 10}",
        "retry_delays": [round(0.05 * 2**i * (1 + depth / 10), 3) for i in range(6)],
        "state": f"step-{depth}:{'ok' if depth % 4 else 'pending'}",
        "ratio": depth / 19,
        "headers": {"X-Trace": f"{order_id:x}-{depth}", "X-Shard": f"shard-{depth % 6}",
                    "Accept-Language": ["de-DE", "fr-FR", "en-US"][depth % 3]},
        "note": f"attempt {depth % 4} of 4 for order {order_id}; last error: gateway timeout "
        f"after {depth * 150 + 300} ms on {['eu-west-1', 'us-east-2', 'ap-south-1'][depth % 3]}",
    }  # fmt: skip


def _attempt_log(depth: int) -> list[str]:
    return [
        f"{depth}.{i}: POST /v1/captures/{depth * 7919 + i} -> {502 + i % 2} after "
        f"{(i + 1) * 97} ms (idempotency key ik_{(depth * 31 + i) % 1000:04d})"
        for i in range(5)
    ]


def _varied_level(depth: int) -> None:
    context = _frame_locals(depth)  # noqa: F841  (captured as frame variables)
    attempts = _attempt_log(depth)  # noqa: F841
    if depth == 0:
        raise RuntimeError("payment provider rejected the capture: amount exceeds authorisation")
    _VARIED_LEVELS[depth - 1](depth - 1)


def _renamed(depth: int) -> Any:
    """``_varied_level`` under another name: each frame of the stack is a different function."""
    name = f"step_{depth:02d}"
    code = _varied_level.__code__.replace(co_name=name, co_qualname=name)
    return types.FunctionType(code, globals(), name)


_VARIED_LEVELS = [_renamed(d) for d in range(19)]


def _request(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """What a web framework integration adds (the Django and Flask ones set these keys)."""
    event["request"] = {
        "url": "https://shop.example.com/api/orders/48213/capture",
        "method": "POST",
        "query_string": "expand=lines&expand=customer&source=checkout",
        "headers": {"Host": "shop.example.com", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"
                    " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
                    "Accept": "application/json", "Content-Type": "application/json",
                    "X-Request-Id": "9f1c2e4a-77b0-4c1e-9a55-3d2b1f0e8c11"},
        "data": {"amount": 129.9, "currency": "EUR", "method": "card", "save": True},
        "env": {"REMOTE_ADDR": "203.0.113.7", "SERVER_NAME": "web-3"},
    }  # fmt: skip
    return event


def _error_varied() -> None:
    sentry_sdk.set_user({"id": "48213", "email": "jane@example.com", "username": "jane",
                         "ip_address": "203.0.113.7"})  # fmt: skip
    categories = ["http", "query", "navigation", "ui.click", "cache"]
    for i in range(40):
        sentry_sdk.add_breadcrumb(
            category=categories[i % 5],
            message=f"{categories[i % 5]} step {i}: /api/orders/{48_000 + i * 17} took {i * 3} ms",
            level="info" if i % 7 else "warning",
            data={
                "status_code": 200 + (i % 3) * 100,
                "attempt": i % 4,
                "shard": f"s{i % 6}",
                "url": f"https://api.example.com/v2/{categories[i % 5]}/{i * 7919 % 10007}",
            },
        )
    sentry_sdk.get_isolation_scope().add_event_processor(_request)
    try:
        _VARIED_LEVELS[18](18)
    except RuntimeError:
        sentry_sdk.capture_exception()


# -- error-tags and error-message ---------------------------------------------------------------


def _error_tags() -> None:
    for i in range(60):
        kind = ["flag", "cohort", "shard", "region"][i % 4]
        sentry_sdk.set_tag(
            f"feature.{kind}_{i}", f"v{i * 7919 % 1009}-{'abcdefgh'[i % 8] * (i % 5 + 1)}"
        )
    for i in range(8):
        sentry_sdk.set_context(
            f"service_{i}",
            {"name": f"svc-{i}", "version": f"1.{i}.3", "pod": f"svc-{i}-{i * 13:04x}"},
        )
    try:
        _recurse(5, "tagged", [])
    except ValueError:
        sentry_sdk.capture_exception()


def _long_message() -> str:
    lines = [
        f"2026-12-04T13:{i % 60:02d}:07.{i * 37 % 1000:03d}Z job={i * 7919 % 100_003} "
        f"host=10.0.{i % 8}.{i * 11 % 250} id={i * 2654435761 % 2**32:08x} "
        f"took={i * 1.37:.2f}ms status={'retry' if i % 5 else 'failed'}"
        for i in range(60)
    ]
    return "batch import failed after 60 attempts:\n" + "\n".join(lines)


def _error_message() -> None:
    sentry_sdk.capture_message(_long_message(), level="error")


LOG_RECORDS = 100  # the SDK's log batcher sends an envelope when it holds 100 records


def _logs() -> None:
    """100 records of a web shop: info mostly, some debug, warnings and errors, templates with
    parameters and a few attributes of each type."""
    for i in range(LOG_RECORDS):
        if i % 20 == 19:
            logger.error(
                "Payment {payment_id} declined by {provider}: {reason}",
                payment_id=f"pay_{i * 7919:08d}", provider="stripe", reason="card_declined",
                attributes={"http.status_code": 402, "retry": False},
            )  # fmt: skip
        elif i % 10 == 4:
            logger.warning(
                "Slow query on {table} took {duration_ms} ms",
                table="order_lines", duration_ms=250.0 + i,
                attributes={"db.system": "postgresql"},
            )  # fmt: skip
        elif i % 10 == 7:
            logger.debug("Cache miss for cart:{cart}", cart=i * 31 % 997)
        else:
            logger.info(
                "Order {order_id} created for {customer} with {items} items",
                order_id=100_000 + i, customer=f"acme-{i % 13}", items=i % 7 + 1,
                attributes={"http.route": "/api/orders/", "user.id": f"u{i * 37 % 1000}"},
            )  # fmt: skip


def _payload(name: str, envelope: Envelope, records: int = 1) -> Payload:
    raw = envelope.serialize()
    event_id = envelope.headers.get("event_id") or _trace_id_of_logs(envelope)
    return Payload(name, gzip.compress(raw, 9), event_id, len(raw), records)


def _trace_id_of_logs(envelope: Envelope) -> str:
    item = envelope.items[0]
    assert item.headers["type"] == "log" and item.headers["item_count"] == LOG_RECORDS
    payload = json.loads(item.get_bytes())
    return str(payload["items"][0]["trace_id"])


def build_payloads() -> dict[str, Payload]:
    return {
        "error": _payload("error", _capture(_error)),
        "transaction": _payload("transaction", _capture(_transaction)),
        "log": _payload("log", _capture(_logs, enable_logs=True), LOG_RECORDS),
        "error-varied": _payload("error-varied", _capture(_error_varied)),
        "error-tags": _payload("error-tags", _capture(_error_tags)),
        "error-message": _payload("error-message", _capture(_error_message)),
    }


# Every name build_payloads() gives (the ``--payload`` choices, with ``mix``).
PAYLOAD_NAMES = ("error", "transaction", "log", "error-varied", "error-tags", "error-message")

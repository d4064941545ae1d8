"""Custom instrumentation: spans with the right names, parents and statuses, and transactions
for background jobs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from tests.kit.recording import RecordingTransport, spans_of
from tests.kit.support import asgi_client, run

from vedette.kit import background_transaction, instrument_app, span, traced


class PaymentService:
    @traced("payment.process", "Process payment")
    async def process_payment(self, amount: int) -> int:
        return amount

    @traced("payment.validate")
    def validate(self, amount: int) -> None:
        if amount < 0:
            raise ValueError("negative amount")


@traced("transform")
def transform(users: list[str]) -> list[str]:
    return [u.upper() for u in users]


def process_batch(items: list[int]) -> None:
    """A batch job: one transaction, a span per item."""
    with background_transaction("batch.process", "Process Item Batch"):
        for item in items:
            with span("item.process", f"Process item {item}", item_id=item):
                pass


def build_app() -> FastAPI:
    app = FastAPI()
    instrument_app(app)
    service = PaymentService()

    @app.get("/pay/{amount}")
    async def pay(amount: int) -> dict[str, int]:
        with span("db.query", "Fetch users", limit=100):
            users = ["ada", "bob"]
        transform(users)
        service.validate(amount)
        return {"paid": await service.process_payment(amount)}

    @app.get("/failing-block")
    async def failing_block() -> None:
        with span("db.query", "Fetch users", limit=100):
            raise LookupError("no users table")

    @app.post("/batch")
    def batch() -> None:
        process_batch([1, 2])

    return app


def call(app: FastAPI, method: str, path: str) -> int:
    async def go() -> int:
        async with asgi_client(app) as client:
            return (await client.request(method, path)).status_code

    return run(go())


def test_spans_of_a_request_are_named_and_parented(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor()
    assert call(build_app(), "GET", "/pay/5") == 200
    (transaction,) = transport.transactions()
    root = transaction["contexts"]["trace"]["span_id"]
    found = {(s["op"], s["description"]): s for s in spans_of(transaction)}
    assert set(found) >= {
        ("db.query", "Fetch users"),
        ("transform", "transform"),
        ("payment.validate", "PaymentService.validate"),
        ("payment.process", "Process payment"),
    }
    for key in [("db.query", "Fetch users"), ("payment.process", "Process payment")]:
        assert found[key]["parent_span_id"] == root
        assert found[key].get("status", "ok") == "ok"
    assert found[("db.query", "Fetch users")]["data"]["limit"] == 100


@pytest.mark.parametrize(
    ("path", "op"), [("/pay/-1", "payment.validate"), ("/failing-block", "db.query")]
)
def test_a_failing_function_or_block_marks_its_span(
    monitor: Callable[..., RecordingTransport], path: str, op: str
) -> None:
    transport = monitor()
    assert call(build_app(), "GET", path) == 500
    (transaction,) = transport.transactions()
    (failed,) = [s for s in spans_of(transaction) if s["op"] == op]
    assert failed["status"] == "internal_error"
    assert len(transport.events()) == 1


def test_a_background_job_is_a_transaction_of_its_own(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor()
    process_batch([1, 2])
    (transaction,) = transport.transactions()
    assert transaction["transaction"] == "Process Item Batch"
    assert transaction["contexts"]["trace"]["op"] == "batch.process"
    assert transaction["transaction_info"]["source"] == "task"
    assert [(s["op"], s["description"]) for s in spans_of(transaction)] == [
        ("item.process", "Process item 1"),
        ("item.process", "Process item 2"),
    ]


def test_inside_a_request_the_job_stays_on_the_requests_trace(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor()
    assert call(build_app(), "POST", "/batch") == 200
    (transaction,) = transport.transactions()  # no second, disconnected transaction
    spans = {s["description"]: s for s in spans_of(transaction)}
    batch = spans["Process Item Batch"]
    assert batch["parent_span_id"] == transaction["contexts"]["trace"]["span_id"]
    assert spans["Process item 1"]["parent_span_id"] == batch["span_id"]


def test_outside_any_transaction_nothing_is_sent(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor()
    assert transform(["a"]) == ["A"]
    with span("db.query", "alone"):
        pass
    assert transport.transactions() == []


def test_traced_keeps_the_function_when_monitoring_is_off() -> None:
    assert transform(["x"]) == ["X"]
    assert transform.__name__ == "transform"
    assert run(PaymentService().process_payment(3)) == 3

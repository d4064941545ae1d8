"""The outbox's delivery: retries with backoff, Retry-After, giving up, leases between nodes.

Real HTTP receivers on loopback; the dispatcher's clock is moved by the test, never slept on.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select
from tests.alerts.bench import T0, AlertBench, error_event
from tests.alerts.receivers import HttpReceiver, Reply
from tests.conftest import BACKENDS

from vedette.alerts.dispatcher import DeliverySettings, Dispatcher, retry_delay
from vedette.storage import alert_outbox
from vedette.storage.database import Database
from vedette.storage.schema import notification_attempts, notifications


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def settings(**changes: Any) -> DeliverySettings:
    return DeliverySettings(
        **{"allow_private": True, "timeout_seconds": 2.0, "retry_seconds": 10.0, **changes}
    )


def outbox(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(notifications).order_by(notifications.c.id)))


def attempts(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(select(notification_attempts).order_by(notification_attempts.c.id))
        )


@pytest.mark.parametrize(
    ("attempts_made", "retry_after", "expected"),
    [(1, None, 10.0), (2, None, 20.0), (3, None, 40.0), (2, 120.0, 120.0), (20, None, 3600.0)],
)
def test_backoff(attempts_made: int, retry_after: float | None, expected: float) -> None:
    assert retry_delay(attempts_made, retry_after, settings()) == expected


def test_a_receiver_that_answers_503_twice_still_gets_the_alert(db: Database) -> None:
    with HttpReceiver() as receiver:
        receiver.script(Reply(503), Reply(503))
        bench = AlertBench(db)
        bench.rule("new_issue", f"webhook:{receiver.url}/hook")
        bench.send([error_event("checkout", T0)], T0)
        clock = Clock(T0)
        dispatcher = Dispatcher(db, settings(), clock)
        dispatcher.drain()
        assert [r.status for r in outbox(db)] == ["pending"]
        clock.now = T0 + 9  # the first retry waits 10 s
        dispatcher.drain()
        assert len(receiver.requests) == 1
        clock.now = T0 + 10
        dispatcher.drain()
        clock.now = T0 + 30  # then 20 s more
        dispatcher.drain()
        [row] = outbox(db)
        assert (row.status, row.attempts) == ("sent", 3)
        assert [a.status_code for a in attempts(db)] == [503, 503, 200]
        ids = {r.headers["x-vedette-notification-id"] for r in receiver.requests}
        assert ids == {row.uid}  # one stable id: the receiver can drop duplicates


def test_retry_after_is_honoured_and_final_errors_are_not_retried(db: Database) -> None:
    with HttpReceiver() as receiver:
        receiver.script(Reply(429, headers={"Retry-After": "300"}), Reply(404))
        bench = AlertBench(db)
        bench.rule("new_issue", f"webhook:{receiver.url}/hook")
        bench.send([error_event("checkout", T0)], T0)
        clock = Clock(T0)
        dispatcher = Dispatcher(db, settings(), clock)
        dispatcher.drain()
        [row] = outbox(db)
        assert row.next_attempt_at == T0 + 300
        clock.now = T0 + 300
        dispatcher.drain()
        [row] = outbox(db)
        assert (row.status, row.attempts) == ("failed", 2)
        assert "404" in (row.last_error or "")


def test_delivery_gives_up_after_a_bounded_time(db: Database) -> None:
    with HttpReceiver(default=Reply(500)) as receiver:
        bench = AlertBench(db)
        bench.rule("new_issue", f"webhook:{receiver.url}/hook")
        bench.send([error_event("checkout", T0)], T0)
        clock = Clock(T0)
        dispatcher = Dispatcher(db, settings(give_up_seconds=60.0), clock)
        for step in (0, 10, 30, 70):
            clock.now = T0 + step
            dispatcher.drain()
        [row] = outbox(db)
        assert row.status == "failed"
        assert row.last_error.startswith("gave up after 3 attempts")
        assert len(receiver.requests) == 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # engine-neutral
def test_private_targets_are_refused_unless_allowed(db: Database) -> None:
    with HttpReceiver() as receiver:
        bench = AlertBench(db)
        bench.rule("new_issue", f"webhook:{receiver.url}/hook")
        bench.send([error_event("checkout", T0)], T0)
        Dispatcher(db, DeliverySettings(allow_private=False), Clock(T0)).drain()
        [row] = outbox(db)
        assert row.status == "failed"
        assert receiver.requests == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # engine-neutral
def test_a_slow_receiver_does_not_hold_up_the_others(db: Database) -> None:
    with HttpReceiver(default=Reply(hang=5.0)) as slow, HttpReceiver() as fast:
        bench = AlertBench(db)
        bench.rule("new_issue", f"webhook:{slow.url}/hook", f"slack:{fast.url}/slack")
        bench.send([error_event("checkout", T0)], T0)
        dispatcher = Dispatcher(db, settings(timeout_seconds=3.0), Clock(T0))
        done = threading.Event()
        threading.Thread(target=lambda: (dispatcher.drain(), done.set()), daemon=True).start()
        for _ in range(200):
            if fast.requests:
                break
            done.wait(0.01)
        assert len(fast.requests) == 1 and not done.is_set()
        done.wait(10)
        statuses = sorted((r.kind, r.status) for r in outbox(db))
        assert statuses == [("slack", "sent"), ("webhook", "pending")]  # timed out: retried


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="several nodes share PostgreSQL")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_nodes_never_claim_one_notification(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("new_issue", *(f"webhook:https://hooks.test/{i}" for i in range(20)))
    bench.send([error_event("checkout", T0)], T0)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def node(name: str) -> None:
        start.wait()
        for _ in range(10):
            with db.write() as conn:
                rows = alert_outbox.claim(conn, name, T0, 60.0, 3)
            claimed[name] += [r.id for r in rows]

    threads = [threading.Thread(target=node, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed["a"]) + len(claimed["b"]) == 20
    assert not set(claimed["a"]) & set(claimed["b"])
    with db.write() as conn:  # leased rows are not due again until the lease runs out
        assert alert_outbox.claim(conn, "c", T0 + 59, 60.0, 50) == []
        assert len(alert_outbox.claim(conn, "c", T0 + 61, 60.0, 50)) == 20


def test_an_attempt_of_a_node_that_lost_its_lease_is_not_recorded(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("new_issue")
    bench.send([error_event("checkout", T0)], T0)
    with db.write() as conn:
        [first] = alert_outbox.claim(conn, "a", T0, 60.0, 1)
        [again] = alert_outbox.claim(conn, "b", T0 + 61, 60.0, 1)
    assert first.id == again.id
    attempt = alert_outbox.Attempt(T0 + 62, 200, None, 0.1)
    with db.write() as conn:
        assert not alert_outbox.record_attempt(conn, first.id, "a", attempt, status="sent")
        assert alert_outbox.record_attempt(conn, first.id, "b", attempt, status="sent")

"""Delivers the outbox: lease due notifications, send each on a thread of its own, record the
attempt, retry with exponential backoff, give up after a bounded time.

It runs in the worker process beside the batch loop but never inside it: a slow or dead receiver
holds one delivery thread for at most its timeout, and never ingest, digest or other channels.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from vedette.alerts.channels import (
    NOTIFICATION_ID_HEADER,
    ChannelKind,
    Endpoints,
    parse_target,
    render_email,
    render_http,
)
from vedette.alerts.message import Message
from vedette.alerts.transport import Delivery, send_email, send_http
from vedette.storage import alert_outbox
from vedette.storage.alert_outbox import FAILED, PENDING, SENT, Attempt, OutboxRow
from vedette.storage.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    smtp_url: str | None = None
    email_from: str = "vedette@localhost"
    allow_private: bool = False
    timeout_seconds: float = 10.0
    retry_seconds: float = 10.0  # the first retry's delay; doubles with each attempt
    max_retry_seconds: float = 3600.0
    give_up_seconds: float = 86400.0
    lease_seconds: float = 120.0
    threads: int = 8
    poll_seconds: float = 0.5
    endpoints: Endpoints = field(default_factory=Endpoints)


def retry_delay(attempts: int, retry_after: float | None, settings: DeliverySettings) -> float:
    """Exponential backoff (``retry_seconds`` x 2^(attempts-1)), or the receiver's Retry-After
    when it asks for longer; both capped."""
    backoff = settings.retry_seconds * 2.0 ** max(0, attempts - 1)
    return min(settings.max_retry_seconds, max(backoff, retry_after or 0.0))


def deliver(row: OutboxRow, settings: DeliverySettings) -> Delivery:
    """Render the stored message for its target and send it (no database access)."""
    try:
        target = replace(parse_target(row.target), secret=row.secret)
    except ValueError as error:
        return Delivery(False, None, f"bad target: {error}", False, None, 0.0)
    message = Message.from_json(row.message)
    if target.kind == ChannelKind.EMAIL:
        if not settings.smtp_url:
            return Delivery(False, None, "VEDETTE_SMTP_URL is not set", False, None, 0.0)
        return send_email(
            settings.smtp_url,
            settings.email_from,
            [target.address],
            render_email(message),
            timeout=settings.timeout_seconds,
            headers={NOTIFICATION_ID_HEADER: row.uid},
        )
    return send_http(
        render_http(target, message, settings.endpoints),
        timeout=settings.timeout_seconds,
        allow_private=settings.allow_private,
    )


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: DeliverySettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._slots = threading.BoundedSemaphore(settings.threads)
        self._pool = ThreadPoolExecutor(settings.threads, thread_name_prefix="vedette-notify")

    def start(self, stopping: threading.Event) -> threading.Thread:
        thread = threading.Thread(
            target=self.run, args=(stopping,), name="vedette-dispatcher", daemon=True
        )
        thread.start()
        return thread

    def run(self, stopping: threading.Event) -> None:
        """Poll until ``stopping`` is set; the waits between polls end when it is."""
        if self._db.is_sqlite:
            # SQLite has one worker at a time: whatever is leased was left by a dead one.
            with self._db.write() as conn:
                alert_outbox.release_leases(conn)
        while not stopping.is_set():
            try:
                claimed = self.dispatch_once()
            except Exception:
                log.exception("notification dispatch failed; retrying")
                claimed = 0
            if not claimed:
                stopping.wait(self._settings.poll_seconds)
        self._pool.shutdown(wait=True)

    def dispatch_once(self) -> int:
        """Lease as many due notifications as there are free threads and start sending them."""
        free = 0
        while self._slots.acquire(blocking=False):
            free += 1
        if not free:
            time.sleep(0.05)
            return 0
        with self._db.write() as conn:
            rows = alert_outbox.claim(
                conn, self._owner, self._clock(), self._settings.lease_seconds, free
            )
        for _ in range(free - len(rows)):
            self._slots.release()
        for row in rows:
            self._pool.submit(self._send, row)
        return len(rows)

    def drain(self, timeout: float = 60.0) -> None:
        """Deliver everything due now and wait for it (tests, and `vedette alert` helpers)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.dispatch_once() and self._idle():
                return
        raise TimeoutError("notifications still being delivered")

    def _idle(self) -> bool:
        taken = 0
        while self._slots.acquire(timeout=0.05):
            taken += 1
            if taken == self._settings.threads:
                break
        for _ in range(taken):
            self._slots.release()
        return taken == self._settings.threads

    def _send(self, row: OutboxRow) -> None:
        try:
            started = self._clock()
            result = deliver(row, self._settings)
            self._record(row, result, started)
        except Exception:
            log.exception("delivering notification %s failed", row.uid)
        finally:
            self._slots.release()

    def _record(self, row: OutboxRow, result: Delivery, started: float) -> None:
        attempt = Attempt(started, result.status_code, result.error, result.duration)
        attempts = row.attempts + 1
        next_at: float | None = None
        if result.ok:
            status = SENT
        elif not result.retryable:
            status = FAILED
        else:
            next_at = started + retry_delay(attempts, result.retry_after, self._settings)
            if next_at > row.created_at + self._settings.give_up_seconds:
                status = FAILED
                attempt = replace(
                    attempt, error=f"gave up after {attempts} attempts: {result.error}"
                )
            else:
                status = PENDING
        with self._db.write() as conn:
            alert_outbox.record_attempt(
                conn, row.id, self._owner, attempt, status=status, next_attempt_at=next_at
            )

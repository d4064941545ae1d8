"""Runs the due checks on a thread pool of their own, beside the worker's batch loop, and records
each result with what it does to the monitor: its state, its issues, the alert rules.

The clock is injected and ``run_due`` is one step (claim what is due now, run it, record it),
so tests drive the checker with a moved clock; the worker's thread calls ``run_due`` in a loop.
Each result is recorded in one transaction that locks the monitor's row, so results of one
monitor never interleave even when several nodes run checks.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from sqlalchemy import Connection

from vedette.alerts.evaluate import AlertSettings, issues_stored
from vedette.storage import uptime as storage
from vedette.storage.database import Database
from vedette.storage.ingest_store import IssueOutcome
from vedette.storage.uptime import CheckRow, UptimeMonitor
from vedette.uptime import issues
from vedette.uptime.judge import (
    Response,
    Standing,
    State,
    Transition,
    advance,
    certificate_warning,
    judge,
    next_due,
    phase,
)
from vedette.uptime.probe import ProbeSettings, probe
from vedette.uptime.spec import spec_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckerSettings:
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    threads: int = 8
    poll_seconds: float = 1.0
    alerts: AlertSettings | None = None  # None: uptime issues fire no alert rules


def next_run(monitor: UptimeMonitor, now: float) -> float:
    return next_due(now, monitor.interval_seconds, phase(monitor.id, monitor.interval_seconds))


class Checker:
    def __init__(
        self, db: Database, settings: CheckerSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._settings = settings
        # One TLS context for every check: building one loads the trusted CAs (slow).
        context = settings.probe.ssl_context or ssl.create_default_context()
        self._probe = replace(settings.probe, ssl_context=context)
        self._clock = clock
        self._slots = threading.BoundedSemaphore(settings.threads)
        self._pool = ThreadPoolExecutor(settings.threads, thread_name_prefix="vedette-uptime")

    def start(self, stopping: threading.Event) -> threading.Thread:
        thread = threading.Thread(
            target=self.run, args=(stopping,), name="vedette-uptime", daemon=True
        )
        thread.start()
        return thread

    def run(self, stopping: threading.Event) -> None:
        """Poll until ``stopping`` is set; the waits between polls end when it is."""
        while not stopping.is_set():
            try:
                self.run_due(wait_for_results=False)
            except Exception:
                log.exception("uptime checks failed; retrying")
            stopping.wait(self._settings.poll_seconds)
        self._pool.shutdown(wait=True)

    def run_due(self, *, wait_for_results: bool = True) -> int:
        """Claim the monitors due now (as many as there are free threads), check them, and
        (by default) wait until every result is recorded; returns how many were claimed."""
        now = self._clock()
        with self._db.read() as conn:  # most polls find nothing due: no write lock for them
            soonest = storage.soonest_check(conn)
        if soonest is None or soonest > now:
            return 0
        free = 0
        while self._slots.acquire(blocking=False):
            free += 1
        claimed: list[UptimeMonitor] = []
        try:
            if free:
                with self._db.write() as conn:
                    claimed = storage.claim_due(conn, now, free, lambda m: next_run(m, now))
        finally:
            for _ in range(free - len(claimed)):
                self._slots.release()
        futures: list[Future[None]] = [self._pool.submit(self._check, m, now) for m in claimed]
        if wait_for_results:
            wait(futures)
        return len(claimed)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _check(self, monitor: UptimeMonitor, now: float) -> None:
        try:
            response = probe(spec_of(monitor), self._probe)
            with self._db.write() as conn:
                record(conn, monitor.id, response, now, self._settings.alerts)
        except Exception:
            log.exception("uptime check of monitor %s failed", monitor.id)
        finally:
            self._slots.release()


def record(
    conn: Connection,
    monitor_id: int,
    response: Response,
    now: float,
    alerts: AlertSettings | None,
) -> None:
    """Store one result and act on it: the state machine's transition and the certificate."""
    monitor = storage.get_monitor(conn, monitor_id, lock=True)
    if monitor is None:  # deleted while its check ran
        return
    verdict = judge(spec_of(monitor), response)
    check = CheckRow(
        monitor.id,
        now,
        verdict.ok,
        response.status_code,
        response.latency_ms,
        None if verdict.error_class is None else verdict.error_class.value,
        verdict.error,
        response.certificate_expires_at,
    )
    storage.record_check(conn, check)
    standing, transition = advance(
        Standing(State(monitor.state), monitor.consecutive_failures),
        verdict.ok,
        monitor.failure_threshold,
    )
    outcomes: list[IssueOutcome] = []
    issue_id = monitor.issue_id
    if transition in (Transition.WENT_DOWN, Transition.STILL_DOWN):
        opening = transition == Transition.WENT_DOWN
        failures = storage.recent_checks(conn, monitor.id, monitor.failure_threshold)
        event = issues.outage_event(monitor, failures if opening else [check], opening, now)
        outcomes.append(issues.store(conn, monitor.project_id, event, now))
        issue_id = outcomes[-1].group_id
    elif transition == Transition.RECOVERED and issue_id is not None:
        issues.resolve(conn, issue_id, f"Recovered: {monitor.url} is up again", now, alerts)
        issue_id = None
    tls_issue_id = _certificate(conn, monitor, response, now, alerts, outcomes)
    storage.set_state(
        conn,
        monitor.id,
        state=standing.state.value,
        consecutive_failures=standing.consecutive_failures,
        last_checked_at=now,
        issue_id=issue_id,
        tls_issue_id=tls_issue_id,
    )
    if alerts is not None:
        issues_stored(conn, outcomes, now, alerts)


def _certificate(
    conn: Connection,
    monitor: UptimeMonitor,
    response: Response,
    now: float,
    alerts: AlertSettings | None,
    outcomes: list[IssueOutcome],
) -> int | None:
    """A warning issue while the certificate expires within two weeks; resolved once a
    renewed one is seen. Returns the open warning's issue id."""
    expires = response.certificate_expires_at
    if expires is None:
        return monitor.tls_issue_id
    if certificate_warning(expires, now):
        if monitor.tls_issue_id is not None:
            return monitor.tls_issue_id
        outcomes.append(
            issues.store(
                conn, monitor.project_id, issues.certificate_event(monitor, expires, now), now
            )
        )
        return outcomes[-1].group_id
    if monitor.tls_issue_id is not None:
        issues.resolve(conn, monitor.tls_issue_id, f"Renewed: {monitor.url}", now, alerts)
    return None

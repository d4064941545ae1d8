"""Drains the spool: claim a batch, process it (pure), store results and acknowledge together."""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from sqlalchemy import Connection

from vedette.domain.processed import ProcessedEnvelope, UserFeedback
from vedette.domain.retention import RetentionPolicy
from vedette.domain.spooled import SpoolEntry
from vedette.processing.pipeline import ProcessingConfig
from vedette.spool.gc_tuning import tune_garbage_collector
from vedette.spool.processing_pool import (
    Job,
    Outcome,
    PoolConfig,
    ProcessingPool,
    process_spooled,
)
from vedette.spool.source_maps import SourceMapStore
from vedette.spool.spools import Spool
from vedette.storage import monitors, retention, spool_store
from vedette.storage.database import Database
from vedette.storage.ingest_store import IssueOutcome, store_monitor_failures, store_processed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    batch_size: int = 200
    max_attempts: int = 3
    idle_poll_seconds: float = 0.2
    # How often the periodic jobs run (cron monitors: missed and timed-out check-ins). Sentry
    # ticks once a minute; margins are whole minutes, so 15 s is within a quarter of one.
    periodic_seconds: float = 15.0
    retention: RetentionPolicy = field(
        default_factory=lambda: RetentionPolicy(90 * 86400.0, 10_000, 30 * 86400.0)
    )
    cleanup_seconds: float = 3600.0
    # The worker process runs at a lower CPU priority than the server: when the cores are busy,
    # acknowledging requests (latency the SDKs wait for) goes first, and digestion, which the
    # durable spool lets lag, catches up as soon as they are idle (docs/benchmarks.md).
    niceness: int = 10
    # Collect young garbage every this many container allocations (CPython's default: 700).
    # A batch holds hundreds of decoded events, thousands of dicts and lists each, and almost
    # none of it is cyclic: with the default, collection took a fifth of the digest time
    # (bench/hotspots.py). Cyclic garbage waits a little longer, a few MB at most.
    gc_threshold: int = 50_000
    # Helper processes that share the pure processing step of large batches (spool.processing_pool).
    pool: PoolConfig = field(default_factory=PoolConfig)


class ResultConsumer(Protocol):
    """What reads the worker's results inside the transaction that stores them (alerts): what
    it writes commits or rolls back with them."""

    def issues_stored(self, conn: Connection, outcomes: list[IssueOutcome], now: float) -> None:
        """A batch (or the cron scheduler) stored events of these issues."""

    def feedback_stored(
        self, conn: Connection, stored: list[tuple[int, UserFeedback]], now: float
    ) -> None:
        """A batch stored these reports (project id, report); some may have been stored
        before."""

    def tick(self, conn: Connection, now: float) -> None:
        """The periodic jobs' turn (``now`` moved by tests)."""


class NoConsumer:
    def issues_stored(self, conn: Connection, outcomes: list[IssueOutcome], now: float) -> None:
        return None

    def feedback_stored(
        self, conn: Connection, stored: list[tuple[int, UserFeedback]], now: float
    ) -> None:
        return None

    def tick(self, conn: Connection, now: float) -> None:
        return None


class Worker:
    def __init__(
        self,
        db: Database,
        spool: Spool,
        config: WorkerConfig,
        processing: Callable[[int], ProcessingConfig] = lambda _pid: ProcessingConfig(),
        on_batch: Callable[[int, float], None] = lambda _entries, _seconds: None,
        consumer: ResultConsumer | None = None,
    ) -> None:
        self._db = db
        self._consumer: ResultConsumer = consumer or NoConsumer()
        self._on_batch = on_batch
        self._spool = spool
        self._config = config
        self._processing = processing
        self._next_periodic = 0.0
        self._next_cleanup = 0.0
        self._source_maps = SourceMapStore(db)
        self._pool = ProcessingPool(config.pool, config.gc_threshold)

    @property
    def helper_pids(self) -> list[int]:
        """The processing helpers running now (tests)."""
        return self._pool.pids

    def run(self, should_stop: Callable[[], bool], wait: Callable[[float], object]) -> None:
        """Process batches until ``should_stop``; ``wait(seconds)`` idles (wakes up early when
        the spool writer signals a commit). Runs in the worker process, whose priority it
        lowers by ``niceness``."""
        if self._config.niceness:
            os.nice(self._config.niceness)
        tune_garbage_collector(self._config.gc_threshold)
        self._spool.recover()
        try:
            while not should_stop():
                try:
                    self._maybe_run_periodic(time.time())
                    handled = self.run_once()
                except Exception:
                    log.exception("worker batch failed; retrying in a second")
                    time.sleep(1.0)
                    continue
                if handled == 0:
                    self._spool.after_commit([])
                    self._pool.stop_if_idle()
                    wait(self._config.idle_poll_seconds)
        finally:
            self._pool.close()

    def close(self) -> None:
        """Stop the processing helpers (``run`` does when it returns)."""
        self._pool.close()

    def run_once(self, now: float | None = None) -> int:
        """Process one batch; return how many spool entries it took."""
        started = time.perf_counter()
        entries = self._spool.claim(self._config.batch_size, time.time() if now is None else now)
        if not entries:
            return 0
        self._source_maps.new_batch()
        outcomes = self._outcomes(entries)
        try:
            # Processing is pure, so a poisoned entry would fail the same way again: it is
            # dead-lettered now.
            self._store(*_split(entries, outcomes))
        except Exception:
            log.exception("storing a batch of %d failed; isolating what fails", len(entries))
            self._store_isolating(entries, outcomes)
        self._on_batch(len(entries), time.perf_counter() - started)
        return len(entries)

    # -- periodic jobs: run in the worker process even when nothing arrives ------------------

    def _maybe_run_periodic(self, now: float) -> None:
        if now >= self._next_periodic:
            self._next_periodic = now + self._config.periodic_seconds
            self.run_periodic(now)

    def run_periodic(self, now: float) -> None:
        """The jobs that depend on the clock alone (tests call this with a moved clock)."""
        with self._db.write() as conn:
            plan = monitors.run_scheduler(conn, now)
            failures = monitors.failures_of(conn, plan, now)
            self._consumer.issues_stored(conn, store_monitor_failures(conn, failures, now), now)
            self._consumer.tick(conn, now)
        if now >= self._next_cleanup:
            self._next_cleanup = now + self._config.cleanup_seconds
            self.cleanup(now)

    def cleanup(self, now: float) -> None:
        """Retention, in short transactions between which the batches of new events go."""
        report = retention.cleanup(self._db, self._config.retention, now)
        if report.total():
            log.info("retention removed %s", report)

    def _outcomes(self, entries: list[SpoolEntry]) -> dict[int, Outcome]:
        """Each entry's processing outcome, by id; a large batch is shared with helpers."""
        if not self._pool.wants(len(entries)):
            return {entry.id: self._outcome(entry) for entry in entries}
        by_id = {entry.id: entry for entry in entries}
        jobs: list[Job] = []
        local_only: list[int] = []
        for entry in entries:
            job = self._job(entry)
            if job is None:
                local_only.append(entry.id)
            else:
                jobs.append(job)
        return self._pool.process(jobs, local_only, lambda entry_id: self._outcome(by_id[entry_id]))

    def _job(self, entry: SpoolEntry) -> Job | None:
        """The entry as a helper can process it, or None if the worker must: its project has
        uploaded source maps (symbolication reads them from storage), or its settings could
        not be read (processing it here fails as it would have)."""
        try:
            if self._source_maps.has_uploads(entry.project_id):
                return None
            config = replace(self._processing(entry.project_id), symbolicate=None)
        except Exception:
            return None
        return Job(entry.id, entry.received_at, entry.client_ip, entry.payload, config)

    def _outcome(self, entry: SpoolEntry) -> Outcome:
        try:
            return self._process(entry)
        except Exception:
            return traceback.format_exc()

    def _process(self, entry: SpoolEntry) -> ProcessedEnvelope:
        symbolicate = self._source_maps.symbolicate_for(entry.project_id)
        return process_spooled(
            entry.payload,
            entry.received_at,
            entry.client_ip,
            replace(self._processing(entry.project_id), symbolicate=symbolicate),
        )

    def _store(
        self,
        processed: list[tuple[SpoolEntry, ProcessedEnvelope]],
        poisoned: list[tuple[SpoolEntry, str]],
    ) -> None:
        entries = [e for e, _ in processed] + [e for e, _ in poisoned]
        with self._db.write() as conn:
            now = time.time()
            outcomes = store_processed(conn, [(e.project_id, r) for e, r in processed], now)
            self._consumer.issues_stored(conn, outcomes, now)
            reports = [(e.project_id, f) for e, r in processed for f in r.feedback]
            self._consumer.feedback_stored(conn, reports, now)
            for entry, error in poisoned:
                spool_store.dead_letter(conn, entry, error)
            self._spool.acknowledge(conn, entries)
        self._spool.after_commit(entries)

    def _store_isolating(self, entries: list[SpoolEntry], outcomes: dict[int, Outcome]) -> None:
        """Isolate the entries that break storage, then dead-letter them after retries alone.

        The batch is stored in halves, and a half that fails in halves again, so one bad
        entry among 200 costs about 16 transactions, not 200: a project that sends entries
        storage refuses cannot stall the others. Entries are handled in id order, so the file
        spool's cursor never skips one.
        """
        ordered = sorted(entries, key=lambda e: e.id)
        middle = len(ordered) // 2
        for half in (ordered[:middle], ordered[middle:]):
            self._store_in_halves(half, outcomes)

    def _store_in_halves(self, entries: list[SpoolEntry], outcomes: dict[int, Outcome]) -> None:
        if not entries:
            return
        if len(entries) == 1:
            self._store_alone(entries[0], outcomes[entries[0].id])
            return
        try:
            self._store(*_split(entries, outcomes))
        except Exception:
            middle = len(entries) // 2
            for half in (entries[:middle], entries[middle:]):
                self._store_in_halves(half, outcomes)

    def _store_alone(self, entry: SpoolEntry, result: Outcome) -> None:
        if isinstance(result, str):
            self._store([], [(entry, result)])
            return
        for attempt in range(1, self._config.max_attempts + 1):
            try:
                self._store([(entry, result)], [])
                return
            except Exception:
                error = traceback.format_exc()
                if attempt == self._config.max_attempts:
                    self._store([], [(entry, error)])
                else:
                    time.sleep(0.1 * attempt)


def _split(
    entries: list[SpoolEntry], outcomes: dict[int, Outcome]
) -> tuple[list[tuple[SpoolEntry, ProcessedEnvelope]], list[tuple[SpoolEntry, str]]]:
    """The entries processed, and the ones poisoned with their errors."""
    processed: list[tuple[SpoolEntry, ProcessedEnvelope]] = []
    poisoned: list[tuple[SpoolEntry, str]] = []
    for entry in entries:
        result = outcomes[entry.id]
        if isinstance(result, str):
            poisoned.append((entry, result))
        else:
            processed.append((entry, result))
    return processed, poisoned

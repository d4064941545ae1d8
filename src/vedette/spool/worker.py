"""Drains the spool: claim a batch, process it (pure), store results and acknowledge together."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from vedette.domain.envelope import parse_envelope
from vedette.domain.processed import ProcessedEnvelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.storage import spool_store
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed
from vedette.storage.spool_store import SpoolEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    batch_size: int = 200
    lease_seconds: float = 60.0
    max_failures: int = 3
    idle_poll_seconds: float = 0.5


class Worker:
    def __init__(
        self,
        db: Database,
        config: WorkerConfig,
        processing: Callable[[int], ProcessingConfig] = lambda _pid: ProcessingConfig(),
        wakeup: threading.Event | None = None,
    ) -> None:
        self._db = db
        self._config = config
        self._processing = processing
        self._wakeup = wakeup or threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vedette-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self.run_once()
            except Exception:
                log.exception("worker batch failed")
                handled = 0
                self._stop.wait(1.0)
            if handled == 0:
                self._wakeup.wait(self._config.idle_poll_seconds)
                self._wakeup.clear()

    def run_once(self, now: float | None = None) -> int:
        """Process one batch; return how many spool entries it took."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            entries = spool_store.claim(
                conn, self._config.batch_size, now, self._config.lease_seconds
            )
        if not entries:
            return 0
        processed: list[tuple[SpoolEntry, ProcessedEnvelope]] = []
        poisoned: list[tuple[SpoolEntry, str]] = []
        for entry in entries:
            try:
                processed.append((entry, self._process(entry)))
            except Exception:
                # Processing is pure, so it will fail the same way next time: dead-letter now.
                poisoned.append((entry, traceback.format_exc()))
        try:
            self._store(processed, poisoned)
        except Exception:
            log.exception("storing a batch of %d failed; retrying entries one by one", len(entries))
            for entry, result in processed:
                self._store_alone(entry, result)
            for entry, error in poisoned:
                self._store_alone_poison(entry, error)
        return len(entries)

    def _process(self, entry: SpoolEntry) -> ProcessedEnvelope:
        envelope = parse_envelope(entry.payload)
        return process_envelope(
            envelope, entry.received_at, entry.client_ip, self._processing(entry.project_id)
        )

    def _store(
        self,
        processed: list[tuple[SpoolEntry, ProcessedEnvelope]],
        poisoned: list[tuple[SpoolEntry, str]],
    ) -> None:
        with self._db.write() as conn:
            store_processed(conn, [(e.project_id, r) for e, r in processed])
            spool_store.acknowledge(conn, [e.id for e, _ in processed])
            for entry, error in poisoned:
                spool_store.dead_letter(conn, entry, error)

    def _store_alone(self, entry: SpoolEntry, result: ProcessedEnvelope) -> None:
        try:
            self._store([(entry, result)], [])
        except Exception:
            error = traceback.format_exc()
            with self._db.write() as conn:
                if entry.failures + 1 >= self._config.max_failures:
                    spool_store.dead_letter(conn, entry, error)
                else:
                    spool_store.record_failure(conn, entry.id, error)

    def _store_alone_poison(self, entry: SpoolEntry, error: str) -> None:
        with self._db.write() as conn:
            spool_store.dead_letter(conn, entry, error)

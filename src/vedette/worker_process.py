"""The spool worker's child process: what `vedette serve` starts beside the server.

It imports only what processing, storing, alerting and uptime checks need, not the server's
web framework, API or UI: the process is spawned (a fresh interpreter), so every import is paid
again at each start and restart, and the server cannot process events until it is done.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from multiprocessing.context import SpawnContext
from multiprocessing.synchronize import Event as ProcessEvent

from vedette.alerts.channels import Endpoints
from vedette.alerts.consumer import Alerts
from vedette.alerts.dispatcher import DeliverySettings, Dispatcher
from vedette.alerts.evaluate import AlertSettings
from vedette.processing.pipeline import ProcessingConfig
from vedette.processing.privacy_settings import processing_config
from vedette.settings import Settings
from vedette.spool.worker import Worker, WorkerConfig
from vedette.storage import privacy
from vedette.storage.database import Database
from vedette.stores import Storage, main_file_path, open_storage, spool_file_path
from vedette.uptime.checker import Checker, CheckerSettings
from vedette.uptime.probe import ProbeSettings
from vedette.uptime.spec import MAX_TIMEOUT_MS


@contextlib.contextmanager
def sole_worker(storage: Storage) -> Iterator[None]:
    """On SQLite the file spool has exactly one reader: wait for any other worker to exit."""
    if not storage.db.is_sqlite:
        yield
        return
    lock_path = spool_file_path(main_file_path(storage.db)).with_suffix(".worker-lock")
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class WorkerCounters:
    """Batches, spool entries and seconds of batch work of this server's worker, in memory
    shared with the worker process (so they outlive its restarts) and shown in /metrics."""

    def __init__(self, context: SpawnContext) -> None:
        self._values = context.Array("d", 3)

    def add(self, entries: int, seconds: float) -> None:
        with self._values.get_lock():
            self._values[0] += 1
            self._values[1] += entries
            self._values[2] += seconds

    def lines(self) -> list[str]:
        with self._values.get_lock():
            batches, entries, seconds = self._values[:]
        return [
            "# HELP vedette_worker_batches_total Batches the worker processed.",
            "# TYPE vedette_worker_batches_total counter",
            f"vedette_worker_batches_total {batches:.0f}",
            "# HELP vedette_worker_entries_total Spool entries the worker processed.",
            "# TYPE vedette_worker_entries_total counter",
            f"vedette_worker_entries_total {entries:.0f}",
            "# HELP vedette_worker_batch_seconds_total Time spent processing and storing batches.",
            "# TYPE vedette_worker_batch_seconds_total counter",
            f"vedette_worker_batch_seconds_total {seconds:.3f}",
        ]


def project_processing(db: Database) -> Callable[[int], ProcessingConfig]:
    """Each project's data scrubbing settings, read again every few seconds (on every node)."""
    read = privacy.project_options_reader(db)

    def load(project_id: int) -> ProcessingConfig:
        return processing_config(*read(project_id))

    return privacy.ShortCache(load, privacy.SETTINGS_CACHE_SECONDS)


def run_worker_process(
    settings: Settings, wakeup: ProcessEvent, parent_pid: int, counters: WorkerCounters
) -> None:
    """Entry point of the worker child process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per notification sent
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        # Only a flag: touching the wake-up event here could deadlock with the wait it
        # interrupts. The wait times out within the idle poll interval anyway.
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    storage = open_storage(settings)
    worker = Worker(
        storage.db,
        storage.spool,
        WorkerConfig(
            batch_size=settings.worker_batch_size,
            max_attempts=settings.spool_max_attempts,
            retention=settings.retention_policy(),
            cleanup_seconds=settings.cleanup_interval_seconds,
        ),
        processing=project_processing(storage.db),
        on_batch=counters.add,
        consumer=Alerts(AlertSettings(settings.base_url, settings.alert_hourly_cap)),
    )

    def should_stop() -> bool:
        return stopping or os.getppid() != parent_pid

    def wait(seconds: float) -> None:
        wakeup.wait(seconds)
        wakeup.clear()

    # If the server dies (even by kill -9), its worker follows instead of lingering.
    with sole_worker(storage):
        # The threads sleep on this event between polls, so they end as soon as the batch
        # loop does, not a poll interval later (a stop or restart waits for them).
        threads_stop = threading.Event()
        dispatcher = Dispatcher(storage.db, delivery_settings(settings)).start(threads_stop)
        uptime = CheckerSettings(
            ProbeSettings(allow_private=settings.uptime_allow_private_targets),
            alerts=AlertSettings(settings.base_url, settings.alert_hourly_cap),
        )
        checker = Checker(storage.db, uptime).start(threads_stop)
        worker.run(should_stop=should_stop, wait=wait)
        threads_stop.set()
        dispatcher.join(timeout=settings.notification_timeout_seconds + 5)
        checker.join(timeout=MAX_TIMEOUT_MS / 1000 + 5)
    storage.dispose()


def delivery_settings(settings: Settings) -> DeliverySettings:
    return DeliverySettings(
        smtp_url=settings.smtp_url,
        email_from=settings.email_from,
        allow_private=settings.alerts_allow_private_targets,
        timeout_seconds=settings.notification_timeout_seconds,
        retry_seconds=settings.notification_retry_seconds,
        give_up_seconds=settings.notification_give_up_seconds,
        lease_seconds=settings.notification_lease_seconds,
        endpoints=Endpoints(settings.telegram_api_url, settings.pagerduty_events_url),
    )

"""The spool worker's child process: what `vedette serve` starts beside the server.

It imports only what processing, storing, alerting and uptime checks need, not the server's
web framework, API or UI: the process is a fresh interpreter, so every import is paid again at
each start and restart, and the server cannot process events until it is done.

The server talks to it through two pipes, not through multiprocessing's shared-memory locks:
those are named semaphores in /dev/shm, left behind whenever the server is killed with -9,
and they need multiprocessing's resource tracker, a third Python process (12 MiB).

    python -P -c "$WORKER_MAIN" PARENT_PID WAKEUP_FD REPORTS_FD < pickled WorkerSettings

(``vedette.app.WORKER_MAIN``: imports this module with the garbage collector off, then runs
``main()``.)

- WAKEUP_FD: the server writes a byte after each spool commit; the worker waits on it between
  polls, so new work starts at once.
- REPORTS_FD: after each batch the worker writes one ``REPORT`` record (entries, seconds),
  which the server adds up for /metrics: the counts outlive the worker's restarts.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import pickle
import select
import signal
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vedette.alerts.channels import Endpoints
from vedette.alerts.consumer import Alerts
from vedette.alerts.dispatcher import DeliverySettings, Dispatcher
from vedette.alerts.evaluate import AlertSettings
from vedette.domain.retention import RetentionPolicy
from vedette.processing.pipeline import ProcessingConfig
from vedette.processing.privacy_settings import processing_config
from vedette.spool.processing_pool import PoolConfig
from vedette.spool.worker import Worker, WorkerConfig
from vedette.storage import privacy
from vedette.storage.database import Database
from vedette.stores import Storage, main_file_path, open_storage, spool_file_path
from vedette.uptime.checker import Checker, CheckerSettings
from vedette.uptime.probe import ProbeSettings
from vedette.uptime.spec import MAX_TIMEOUT_MS

if TYPE_CHECKING:
    from vedette.settings import Settings


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


REPORT = struct.Struct("=dd")  # one batch: spool entries, seconds of work
BATCH_STOP_SECONDS = 30.0  # for the batch in progress when a stop is asked for


class WorkerCounters:
    """Batches, spool entries and seconds of batch work of this server's worker, added up in
    the server from the worker's reports and shown in /metrics."""

    def __init__(self) -> None:
        self.batches = 0
        self.entries = 0
        self.seconds = 0.0
        self._partial = b""

    def feed(self, data: bytes) -> None:
        """Add the whole reports in ``data``; keep a trailing part for the next read."""
        data = self._partial + data
        whole = len(data) - len(data) % REPORT.size
        for entries, seconds in REPORT.iter_unpack(data[:whole]):
            self.batches += 1
            self.entries += int(entries)
            self.seconds += seconds
        self._partial = data[whole:]

    def lines(self) -> list[str]:
        return [
            "# HELP vedette_worker_batches_total Batches the worker processed.",
            "# TYPE vedette_worker_batches_total counter",
            f"vedette_worker_batches_total {self.batches}",
            "# HELP vedette_worker_entries_total Spool entries the worker processed.",
            "# TYPE vedette_worker_entries_total counter",
            f"vedette_worker_entries_total {self.entries}",
            "# HELP vedette_worker_batch_seconds_total Time spent processing and storing batches.",
            "# TYPE vedette_worker_batch_seconds_total counter",
            f"vedette_worker_batch_seconds_total {self.seconds:.3f}",
        ]


@dataclass(frozen=True)
class ServerEnds:
    """The server's side of the two pipes: it writes wake-ups and reads reports (both ends of
    each pipe are opened here; the worker is given its two with ``pass_fds``)."""

    wakeup_read: int
    wakeup_write: int
    reports_read: int
    reports_write: int

    @classmethod
    def open(cls) -> ServerEnds:
        wakeup_read, wakeup_write = os.pipe()
        reports_read, reports_write = os.pipe()
        os.set_blocking(wakeup_write, False)
        os.set_blocking(reports_read, False)
        return cls(wakeup_read, wakeup_write, reports_read, reports_write)

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # a full pipe: wake-ups are waiting already
            os.write(self.wakeup_write, b"\0")

    def read_reports(self, counters: WorkerCounters) -> None:
        with contextlib.suppress(BlockingIOError):
            counters.feed(os.read(self.reports_read, 65536))

    def close(self) -> None:
        for fd in (self.wakeup_read, self.wakeup_write, self.reports_read, self.reports_write):
            os.close(fd)


@dataclass(frozen=True)
class ServerPipes:
    """The worker's ends of its two pipes to the server (file descriptors), and the pipe that
    ``signal.set_wakeup_fd`` writes to when a signal arrives (``signals``), so that a stop ends
    an idle wait at once instead of when it times out."""

    wakeup: int
    reports: int
    signals: int | None = None

    def wait(self, seconds: float) -> None:
        """Until the server signals a commit, a signal arrives, or ``seconds`` pass; then take
        every wake-up."""
        poller = select.poll()  # not select.select: it refuses descriptors past 1023
        ready = [fd for fd in (self.wakeup, self.signals) if fd is not None]
        for fd in ready:
            poller.register(fd, select.POLLIN)
        if poller.poll(seconds * 1000):
            for fd in ready:
                with contextlib.suppress(BlockingIOError):
                    while os.read(fd, 65536):
                        pass

    def report(self, entries: int, seconds: float) -> None:
        with contextlib.suppress(BrokenPipeError):  # the server is gone: the worker stops next
            os.write(self.reports, REPORT.pack(entries, seconds))


def project_processing(db: Database) -> Callable[[int], ProcessingConfig]:
    """Each project's data scrubbing settings, read again every few seconds (on every node)."""
    read = privacy.project_options_reader(db)

    def load(project_id: int) -> ProcessingConfig:
        return processing_config(*read(project_id))

    return privacy.ShortCache(load, privacy.SETTINGS_CACHE_SECONDS)


@dataclass(frozen=True)
class WorkerSettings:
    """What the worker reads of the server's settings, as plain values: receiving `Settings`
    itself would make the worker load pydantic (10 MiB and 80 ms of CPU at every start)."""

    database_url: str
    spool_lease_seconds: float
    test_clock_file: Path | None
    batch_size: int
    helper_processes: int
    max_attempts: int
    retention: RetentionPolicy
    cleanup_seconds: float
    alerts: AlertSettings
    uptime_allow_private_targets: bool
    delivery: DeliverySettings

    @classmethod
    def of(cls, settings: Settings) -> WorkerSettings:
        return cls(
            database_url=settings.resolved_database_url(),
            spool_lease_seconds=settings.spool_lease_seconds,
            test_clock_file=settings.test_clock_file,
            batch_size=settings.worker_batch_size,
            helper_processes=settings.worker_processes,
            max_attempts=settings.spool_max_attempts,
            retention=settings.retention_policy(),
            cleanup_seconds=settings.cleanup_interval_seconds,
            alerts=AlertSettings(settings.base_url, settings.alert_hourly_cap),
            uptime_allow_private_targets=settings.uptime_allow_private_targets,
            delivery=DeliverySettings(
                smtp_url=settings.smtp_url,
                email_from=settings.email_from,
                allow_private=settings.alerts_allow_private_targets,
                timeout_seconds=settings.notification_timeout_seconds,
                retry_seconds=settings.notification_retry_seconds,
                give_up_seconds=settings.notification_give_up_seconds,
                lease_seconds=settings.notification_lease_seconds,
                endpoints=Endpoints(settings.telegram_api_url, settings.pagerduty_events_url),
            ),
        )

    def resolved_database_url(self) -> str:
        return self.database_url

    def stop_seconds(self) -> float:
        """How long a stopping worker may take: its batch, then the notification and the
        uptime check in progress (their threads are joined with these bounds)."""
        return BATCH_STOP_SECONDS + self.delivery.timeout_seconds + 5 + MAX_TIMEOUT_MS / 1000 + 5


def run_worker_process(settings: WorkerSettings, pipes: ServerPipes, parent_pid: int) -> None:
    """Entry point of the worker child process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per notification sent
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        # Only a flag, read between batches; an idle wait ends at once (ServerPipes.signals).
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    storage = open_storage(settings)
    worker = Worker(
        storage.db,
        storage.spool,
        WorkerConfig(
            batch_size=settings.batch_size,
            max_attempts=settings.max_attempts,
            pool=PoolConfig(processes=settings.helper_processes),
            retention=settings.retention,
            cleanup_seconds=settings.cleanup_seconds,
        ),
        processing=project_processing(storage.db),
        on_batch=pipes.report,
        consumer=Alerts(settings.alerts),
    )

    def should_stop() -> bool:
        return stopping or os.getppid() != parent_pid

    # If the server dies (even by kill -9), its worker follows instead of lingering.
    with sole_worker(storage):
        # The threads sleep on this event between polls, so they end as soon as the batch
        # loop does, not a poll interval later (a stop or restart waits for them).
        threads_stop = threading.Event()
        dispatcher = Dispatcher(storage.db, settings.delivery).start(threads_stop)
        uptime = CheckerSettings(
            ProbeSettings(allow_private=settings.uptime_allow_private_targets),
            alerts=settings.alerts,
        )
        checker = Checker(storage.db, uptime).start(threads_stop)
        worker.run(should_stop=should_stop, wait=pipes.wait)
        threads_stop.set()
        dispatcher.join(timeout=settings.delivery.timeout_seconds + 5)
        checker.join(timeout=MAX_TIMEOUT_MS / 1000 + 5)
    storage.dispose()


def main() -> None:
    parent_pid, wakeup, reports = (int(arg) for arg in sys.argv[1:4])
    settings = pickle.load(sys.stdin.buffer)  # WorkerSettings from the server, our parent
    os.set_blocking(wakeup, False)
    run_worker_process(settings, ServerPipes(wakeup, reports, signal_pipe()), parent_pid)


def signal_pipe() -> int:
    """A pipe the interpreter writes a byte to when a signal arrives (main thread only); its
    read end is returned. Python retries a ``poll`` that a signal interrupted, once the handler
    has run, so without it a SIGTERM would end an idle wait only at its timeout."""
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write)
    return read

"""The composition root: storage, spool, worker process and routes for one `vedette serve`.

Processes: the server process runs the event loop (ingest, API) and the spool writer thread;
the spool worker runs in a child process, so processing never competes with ingest for the GIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import multiprocessing
import os
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing.context import SpawnContext
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.alerts.channels import Endpoints
from vedette.alerts.consumer import Alerts
from vedette.alerts.dispatcher import DeliverySettings, Dispatcher
from vedette.alerts.evaluate import AlertSettings
from vedette.api.routes import Api
from vedette.domain.envelope import outcomes_envelope
from vedette.domain.spooled import NewEntry
from vedette.ingest.auth import KeyInfo, KeyRegistry
from vedette.ingest.metrics import IngestMetrics
from vedette.ingest.ratelimit import ProjectQuota, RefusedOutcomes, SpoolGauge
from vedette.ingest.routes import IngestConfig, IngestEndpoints
from vedette.processing.pipeline import ProcessingConfig
from vedette.processing.privacy_settings import processing_config
from vedette.settings import Settings
from vedette.spool.clock_shift import clock_shift
from vedette.spool.spools import FileSpool, Spool, TableSpool
from vedette.spool.worker import Worker, WorkerConfig
from vedette.spool.writer import SpoolUnavailable, SpoolWriter
from vedette.storage import accounts, privacy, retention
from vedette.storage.database import Database
from vedette.storage.migrate import upgrade
from vedette.storage.schema import spool_file_metadata
from vedette.uptime.checker import Checker, CheckerSettings
from vedette.uptime.probe import ProbeSettings
from vedette.uptime.spec import MAX_TIMEOUT_MS
from vedette.web import sso
from vedette.web.core import UIConfig
from vedette.web.oidc import OidcConfig
from vedette.web.ui import WebUI

log = logging.getLogger(__name__)

REFUSED_FLUSH_SECONDS = 2.0


@dataclass(frozen=True)
class Storage:
    db: Database
    spool: Spool

    def dispose(self) -> None:
        self.db.dispose()
        if self.spool.database is not self.db:
            self.spool.database.dispose()


def spool_file_path(main: Path) -> Path:
    """Where the SQLite spool lives: beside the main database file."""
    return main.with_name(main.stem + ".spool.sqlite3")


def main_file_path(db: Database) -> Path:
    return Path(db.url.database or "vedette.sqlite3")


def open_storage(settings: Settings) -> Storage:
    """Open the main database (not migrated here) and the spool that fits its engine."""
    db = Database(settings.resolved_database_url())
    if not db.is_sqlite:
        lease_clock = clock_shift(settings.test_clock_file)
        return Storage(db, TableSpool(db, settings.spool_lease_seconds, lease_clock))
    spool_db = Database(f"sqlite:///{spool_file_path(main_file_path(db))}")
    spool_file_metadata.create_all(spool_db.engine)
    return Storage(db, FileSpool(spool_db, db))


def backup_sqlite(storage: Storage, directory: Path) -> Path:
    """Copy the main database and the spool file with SQLite's online backup (the server may
    keep running) into ``directory`` under the names a server started there will use."""
    directory.mkdir(parents=True, exist_ok=False)
    target = directory / "vedette.sqlite3"
    source = main_file_path(storage.db)
    pairs = [(source, target), (spool_file_path(source), spool_file_path(target))]
    # The spool first: whatever the main copy says was consumed is then surely in the spool copy
    # or already processed, so a restore can neither lose nor repeat an envelope.
    for original, destination in reversed(pairs):
        src, dst = sqlite3.connect(original), sqlite3.connect(destination)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    return directory.resolve()


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
        dispatcher = Dispatcher(storage.db, delivery_settings(settings)).start(should_stop)
        uptime = CheckerSettings(
            ProbeSettings(allow_private=settings.uptime_allow_private_targets),
            alerts=AlertSettings(settings.base_url, settings.alert_hourly_cap),
        )
        checker = Checker(storage.db, uptime).start(should_stop)
        worker.run(should_stop=should_stop, wait=wait)
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


class WorkerSupervisor:
    """Starts the worker child process and restarts it if it dies."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        self.wakeup: ProcessEvent = self._context.Event()
        self.counters = WorkerCounters(self._context)
        self._process: multiprocessing.process.BaseProcess | None = None
        self._watch: asyncio.Task[None] | None = None

    def _spawn(self) -> None:
        self._process = self._context.Process(
            target=run_worker_process,
            args=(self._settings, self.wakeup, os.getpid(), self.counters),
            name="vedette-worker",
            daemon=True,
        )
        self._process.start()

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self._process is not None and not self._process.is_alive():
                log.error("worker exited with %s; restarting it", self._process.exitcode)
                self._spawn()

    def start(self) -> None:
        self._spawn()
        self._watch = asyncio.get_running_loop().create_task(self._keep_alive())

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self._process is not None:
            self._process.terminate()
            await run_in_threadpool(self._process.join, 30)


def oidc_config(settings: Settings) -> OidcConfig | None:
    """Single sign-on as configured (VEDETTE_OIDC_*), or None; half a configuration fails."""
    if not settings.oidc_issuer:
        return None
    required = {
        "VEDETTE_OIDC_CLIENT_ID": settings.oidc_client_id,
        "VEDETTE_OIDC_CLIENT_SECRET": settings.oidc_client_secret,
        "VEDETTE_OIDC_ORGANIZATION": settings.oidc_organization,
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise ValueError(f"VEDETTE_OIDC_ISSUER is set, so set {', '.join(missing)} too")
    return OidcConfig(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id or "",
        client_secret=settings.oidc_client_secret or "",
        redirect_uri=settings.base_url.rstrip("/") + sso.CALLBACK_PATH,
        organization=settings.oidc_organization or "",
        role=settings.oidc_role,
        sso_only=settings.oidc_sso_only,
        button_label=settings.oidc_button_label,
        timeout_seconds=settings.oidc_timeout_seconds,
        scopes=settings.oidc_scopes,
    )


def _key_registry(db: Database) -> KeyRegistry:
    def load(public_key: str) -> KeyInfo | None:
        with db.read() as conn:
            key = accounts.key_info(conn, public_key)
        if key is None:
            return None
        limit = None if key.rate_limit is None else (key.rate_limit.count, key.rate_limit.window)
        return KeyInfo(public_key, key.project_id, key.is_active, limit)

    return KeyRegistry(load)


def create_app(settings: Settings) -> Starlette:
    storage = open_storage(settings)
    supervisor = WorkerSupervisor(settings) if settings.worker_enabled else None
    spool_writer = SpoolWriter(
        storage.spool.database,
        storage.spool.table,
        committed=supervisor.wakeup.set if supervisor is not None else lambda: None,
    )
    keys = _key_registry(storage.db)
    ingest_metrics = IngestMetrics()
    spool_gauge = SpoolGauge(settings.max_spool_entries)
    refused = RefusedOutcomes()

    async def flush_refused() -> None:
        """Every few seconds, what ingest refused goes through the spool into the outcomes."""
        while True:
            await asyncio.sleep(REFUSED_FLUSH_SECONDS)
            for project_id, records in refused.drain().items():
                try:
                    await spool_writer.append(
                        NewEntry(project_id, time.time(), None, outcomes_envelope(records))
                    )
                except SpoolUnavailable:
                    log.warning("could not record refused outcomes for project %s", project_id)

    async def measure_spool() -> None:
        while True:
            try:
                spool_gauge.depth = (await run_in_threadpool(storage.spool.stats)).depth
            except Exception:
                log.exception("measuring the spool failed")
            await asyncio.sleep(1.0)

    ingest = IngestEndpoints(
        IngestConfig(
            max_body_bytes=settings.max_body_bytes,
            max_envelope_bytes=settings.max_envelope_bytes,
            max_event_bytes=settings.max_event_bytes,
            max_attachment_bytes=settings.max_attachment_bytes,
            trust_forwarded_for=settings.trust_forwarded_for,
            body_timeout_seconds=settings.body_timeout_seconds,
            quota_clock_shift=clock_shift(settings.test_clock_file),
        ),
        keys,
        spool_writer,
        ingest_metrics,
        ProjectQuota(settings.rate_limit_per_minute),
        spool_gauge,
        refused,
    )
    alerts = AlertSettings(settings.base_url, settings.alert_hourly_cap)
    api = Api(storage.db, storage.spool.stats, settings.base_url, keys.forget, alerts)
    web = WebUI(
        storage.db,
        UIConfig(
            settings.base_url, keys.forget, settings.trust_forwarded_for, oidc_config(settings)
        ),
    )

    async def health(_request: Request) -> Response:
        """Ready when the database answers; failing when the spool stopped draining."""
        stats = await run_in_threadpool(storage.spool.stats)
        age = 0.0 if stats.oldest_received_at is None else time.time() - stats.oldest_received_at
        if age > settings.health_max_spool_age_seconds:
            body = {"ok": False, "reason": f"oldest spooled envelope waits for {age:.0f} s"}
            return Response(orjson.dumps(body), 503, media_type="application/json")
        return Response(orjson.dumps({"ok": True}), media_type="application/json")

    async def metrics(_request: Request) -> Response:
        stats = await run_in_threadpool(storage.spool.stats)
        database_bytes = await run_in_threadpool(retention.database_bytes, storage.db)
        age = 0.0 if stats.oldest_received_at is None else time.time() - stats.oldest_received_at
        lines = [
            *ingest_metrics.lines(),
            "# HELP vedette_spool_depth Envelopes acknowledged but not yet processed.",
            "# TYPE vedette_spool_depth gauge",
            f"vedette_spool_depth {stats.depth}",
            "# HELP vedette_spool_oldest_age_seconds Age of the oldest unprocessed envelope.",
            "# TYPE vedette_spool_oldest_age_seconds gauge",
            f"vedette_spool_oldest_age_seconds {age:.3f}",
            "# HELP vedette_dead_letters Spool entries that could not be processed.",
            "# TYPE vedette_dead_letters gauge",
            f"vedette_dead_letters {stats.dead_letters}",
            "# HELP vedette_database_bytes Disk used by the database (retention bounds it).",
            "# TYPE vedette_database_bytes gauge",
            f"vedette_database_bytes {database_bytes}",
            *(supervisor.counters.lines() if supervisor is not None else []),
        ]
        return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(upgrade, storage.db)
        spool_writer.start()
        if supervisor is not None:
            supervisor.start()
        loop = asyncio.get_running_loop()
        background = [loop.create_task(measure_spool()), loop.create_task(flush_refused())]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            spool_writer.stop()
            if supervisor is not None:
                await supervisor.stop()
            storage.dispose()

    routes = [
        Route("/_health/", health),
        Route("/metrics", metrics),
        *ingest.routes(),
        *api.routes(),
        *web.routes(),
    ]
    return Starlette(routes=routes, lifespan=lifespan)

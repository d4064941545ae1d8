"""The composition root: storage, spool, worker process and routes for one `vedette serve`.

Processes: the server process runs the event loop (ingest, API) and the spool writer thread;
the spool worker runs in a child process, so processing never competes with ingest for the GIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.alerts.evaluate import AlertSettings
from vedette.api.routes import Api
from vedette.domain.envelope import outcomes_envelope
from vedette.domain.spooled import NewEntry
from vedette.ingest.auth import KeyInfo, KeyRegistry
from vedette.ingest.metrics import IngestMetrics
from vedette.ingest.ratelimit import ProjectQuota, RefusedOutcomes, SpoolGauge
from vedette.ingest.routes import IngestConfig, IngestEndpoints, IngestFirst
from vedette.settings import Settings
from vedette.spool.clock_shift import clock_shift
from vedette.spool.writer import SpoolUnavailable, SpoolWriter
from vedette.storage import accounts, retention
from vedette.storage.database import Database
from vedette.storage.migrate import upgrade
from vedette.stores import open_storage
from vedette.web import sso
from vedette.web.core import UIConfig
from vedette.web.oidc_config import OidcConfig
from vedette.web.ui import WebUI
from vedette.worker_process import ServerEnds, WorkerCounters, WorkerSettings

log = logging.getLogger(__name__)

REFUSED_FLUSH_SECONDS = 0.5  # at most two outcome entries a second per project under a flood
WORKER_MAIN = (
    "import gc; gc.disable(); from vedette.worker_process import main; gc.enable(); main()"
)
RESTART_AFTER_SECONDS = 1.0  # at least this long between two starts of the worker


class WorkerSupervisor:
    """Starts the worker child process (vedette/worker_process.py) and restarts it if it dies;
    wakes it after spool commits and adds up its batch reports."""

    def __init__(self, settings: Settings) -> None:
        self._settings = WorkerSettings.of(settings)
        self.counters = WorkerCounters()
        self._pipes: ServerEnds | None = None  # open from start() to stop()
        self._pipes_lock = threading.Lock()  # wake() runs in the spool writer's thread
        self._process: subprocess.Popen[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._spawned_at = 0.0
        self._restart: asyncio.TimerHandle | None = None
        self._stopping = False

    def wake(self) -> None:
        """The spool has new entries (called by the spool writer's thread after a commit)."""
        with self._pipes_lock:
            if self._pipes is not None:
                self._pipes.wake()

    def _spawn(self, pipes: ServerEnds) -> None:
        passed = (pipes.wakeup_read, pipes.reports_write)
        # -P: nothing from the directory the server was started in shadows a module. Its
        # imports make no garbage, so the collector is off meanwhile (7 % of their CPU).
        self._process = subprocess.Popen(
            [sys.executable, "-P", "-c", WORKER_MAIN,
             str(os.getpid()), *(str(fd) for fd in passed)],
            stdin=subprocess.PIPE, pass_fds=passed,
        )  # fmt: skip
        assert self._process.stdin is not None
        with self._process.stdin:  # a few KB: fits the pipe, so this never blocks
            self._process.stdin.write(pickle.dumps(self._settings))
        self._spawned_at = time.monotonic()
        threading.Thread(
            target=self._wait_for_exit, args=(self._process, pipes), name="worker-exit", daemon=True
        ).start()

    def _wait_for_exit(self, process: subprocess.Popen[bytes], pipes: ServerEnds) -> None:
        """In a thread of its own: the moment the worker exits, the event loop restarts it
        (it used to look once a second, so a crashed worker left the spool undrained that long)."""
        returncode = process.wait()
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop has closed: the server is gone
            self._loop.call_soon_threadsafe(self._exited, process, returncode, pipes)

    def _exited(self, process: subprocess.Popen[bytes], returncode: int, pipes: ServerEnds) -> None:
        if self._stopping or process is not self._process:
            return
        log.error("worker exited with %s; restarting it", returncode)
        # A worker that dies at once (a database it cannot open) is restarted once a second,
        # not in a loop.
        delay = max(0.0, self._spawned_at + RESTART_AFTER_SECONDS - time.monotonic())
        assert self._loop is not None
        self._restart = self._loop.call_later(delay, self._spawn, pipes)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        pipes = ServerEnds.open()
        with self._pipes_lock:
            self._pipes = pipes
        self._loop.add_reader(pipes.reports_read, pipes.read_reports, self.counters)
        self._spawn(pipes)

    async def stop(self) -> None:
        self._stopping = True
        if self._restart is not None:
            self._restart.cancel()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:  # it finishes its batch and lets a notification or check in progress end
                await run_in_threadpool(self._process.wait, self._settings.stop_seconds())
            except subprocess.TimeoutExpired:
                self._process.kill()
                await run_in_threadpool(self._process.wait)
        with self._pipes_lock:
            pipes, self._pipes = self._pipes, None
        if pipes is not None:
            asyncio.get_running_loop().remove_reader(pipes.reports_read)
            pipes.read_reports(self.counters)  # the last batches' reports
            pipes.close()


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
        storage.spool.append_databases,
        storage.spool.table,
        committed=supervisor.wake if supervisor is not None else lambda: None,
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
            appended_before = spool_gauge.appended_so_far()
            try:
                depth = (await run_in_threadpool(storage.spool.stats)).depth
                spool_gauge.measured(depth, appended_before)
            except Exception:
                log.exception("measuring the spool failed")
            await asyncio.sleep(spool_gauge.next_measure_seconds())

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
        *api.routes(),
        *web.routes(),
    ]
    return IngestFirst(ingest, routes, lifespan)

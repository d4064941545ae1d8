"""The spool worker's child process: what it imports, how quickly its threads stop, and the
pipes between it and the server."""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.alerts.bench import BASE_URL

from vedette.alerts.dispatcher import DeliverySettings, Dispatcher
from vedette.alerts.evaluate import AlertSettings
from vedette.settings import Settings
from vedette.storage.database import Database
from vedette.uptime.checker import Checker, CheckerSettings
from vedette.uptime.probe import ProbeSettings
from vedette.uptime.spec import MAX_TIMEOUT_MS
from vedette.worker_process import (
    REPORT,
    ServerEnds,
    ServerPipes,
    WorkerCounters,
    WorkerSettings,
)

AN_HOUR = 3600.0


def test_the_worker_process_imports_none_of_the_web_server_nor_pydantic_nor_rare_work() -> None:
    """It is a fresh interpreter, so each start and restart pays its imports again, and the
    server processes nothing until they are done."""
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys, vedette.worker_process; print(' '.join(sys.modules))"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    web_server = ("starlette", "uvicorn", "vedette.app", "vedette.api", "vedette.web")
    assert [m for m in loaded if m.startswith(web_server)] == []
    # Its settings come as plain values (WorkerSettings), not as pydantic's Settings.
    assert [m for m in loaded if m.startswith(("pydantic", "vedette.settings"))] == []
    # Nor what only some batches need: loaded with the first OTLP item, notification, check
    # or source map.
    rare = ("google.protobuf", "opentelemetry", "httpx", "jinja2", "symbolic")
    assert [m for m in loaded if m.startswith(rare)] == []
    assert "vedette.spool.worker" in loaded


@pytest.mark.parametrize("thread", ["dispatcher", "uptime checker"])
def test_the_worker_threads_end_when_told_not_a_poll_later(db: Database, thread: str) -> None:
    """A stop or restart of the worker waits for these threads: an hour's poll interval must
    not hold it up."""
    poller = (
        Dispatcher(db, DeliverySettings(poll_seconds=AN_HOUR))
        if thread == "dispatcher"
        else Checker(
            db,
            CheckerSettings(ProbeSettings(), alerts=AlertSettings(BASE_URL), poll_seconds=AN_HOUR),
        )
    )
    stopping = threading.Event()
    running = poller.start(stopping)
    stopping.set()
    running.join(timeout=30)
    assert not running.is_alive()


@pytest.mark.parametrize("chunk", [1, 5, 16, 17, 64])
def test_reports_add_up_however_the_pipe_splits_them(chunk: int) -> None:
    sent = [(20, 0.5), (3, 0.125), (200, 2.0)]
    stream = b"".join(REPORT.pack(entries, seconds) for entries, seconds in sent)
    counters = WorkerCounters()
    for start in range(0, len(stream), chunk):
        counters.feed(stream[start : start + chunk])
    assert (counters.batches, counters.entries, counters.seconds) == (3, 223, 2.625)
    assert "vedette_worker_entries_total 223" in counters.lines()


def test_the_pipes_wake_the_worker_and_carry_its_reports() -> None:
    """Over real pipes, the server's ends and the worker's (copies, as a child holds them)."""
    server = ServerEnds.open()
    worker = ServerPipes(os.dup(server.wakeup_read), os.dup(server.reports_write))
    os.set_blocking(worker.wakeup, False)  # as the worker's main() sets it
    try:
        for _ in range(70_000):  # commits while the worker was busy: more than a pipe holds
            server.wake()
        started = time.monotonic()
        worker.wait(AN_HOUR)
        assert time.monotonic() - started < 60, "a wake-up ends the wait"
        assert select.select([worker.wakeup], [], [], 0)[0] == [], "every wake-up is taken"
        worker.report(20, 0.5)
        counters = WorkerCounters()
        server.read_reports(counters)
        server.read_reports(counters)  # nothing more to read: no error, nothing added
        assert (counters.batches, counters.entries) == (1, 20)
        server.close()
        worker.report(1, 0.1)  # the server is gone: no error, the worker stops on its own
    finally:
        os.close(worker.wakeup)
        os.close(worker.reports)


# A child waits an hour on its server pipes, as an idle worker does between polls.
_IDLE_CHILD = """
import os, signal, sys
from vedette.worker_process import ServerPipes, signal_pipe
signal.signal(signal.SIGTERM, lambda *_: print("stopping", flush=True))
wakeup, _ = os.pipe()
os.set_blocking(wakeup, False)
pipes = ServerPipes(wakeup, sys.stdout.fileno(), signal_pipe())
print("waiting", flush=True)
pipes.wait(3600)
print("woke", flush=True)
"""


def test_a_sigterm_ends_an_idle_wait_at_once() -> None:
    """Without the signal pipe the wait would resume after the handler and last the hour: a
    stop or restart of an idle worker used to take up to its idle poll interval."""
    child = subprocess.Popen([sys.executable, "-c", _IDLE_CHILD], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "waiting\n"
    child.send_signal(signal.SIGTERM)
    try:
        out, _ = child.communicate(timeout=60)
    finally:
        child.kill()
    assert out.split() == ["stopping", "woke"]


def test_a_stop_waits_as_long_as_the_worker_may_take() -> None:
    settings = WorkerSettings.of(Settings(notification_timeout_seconds=10))
    slowest_join = 10 + 5 + MAX_TIMEOUT_MS / 1000 + 5  # the dispatcher's, then the checker's
    assert settings.stop_seconds() > slowest_join


def test_the_worker_settings_carry_the_servers_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, worker_batch_size=7, spool_max_attempts=5, retention_days=3,
        notification_timeout_seconds=4.5, smtp_url="smtp://127.0.0.1:2525",
        base_url="https://vedette.example", alert_hourly_cap=9,
        uptime_allow_private_targets=True, test_clock_file=tmp_path / "clock",
    )  # fmt: skip
    sent = pickle.loads(pickle.dumps(WorkerSettings.of(settings)))  # as the worker gets them
    assert sent.resolved_database_url() == settings.resolved_database_url()
    assert (sent.batch_size, sent.max_attempts) == (7, 5)
    assert sent.retention == settings.retention_policy()
    assert (sent.delivery.timeout_seconds, sent.delivery.smtp_url) == (4.5, settings.smtp_url)
    assert (sent.alerts.base_url, sent.alerts.hourly_cap) == ("https://vedette.example", 9)
    assert sent.uptime_allow_private_targets
    assert sent.test_clock_file == tmp_path / "clock"

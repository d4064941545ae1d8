"""The spool worker's child process: what it imports, and how quickly its threads stop."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from tests.alerts.bench import BASE_URL

from vedette.alerts.dispatcher import DeliverySettings, Dispatcher
from vedette.alerts.evaluate import AlertSettings
from vedette.storage.database import Database
from vedette.uptime.checker import Checker, CheckerSettings
from vedette.uptime.probe import ProbeSettings

AN_HOUR = 3600.0


def test_the_worker_process_imports_none_of_the_web_server() -> None:
    """It is spawned, so each start and restart pays its imports again, and the server
    processes nothing until they are done."""
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys, vedette.worker_process; print(' '.join(sys.modules))"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    web_server = ("starlette", "uvicorn", "vedette.app", "vedette.api", "vedette.web")
    assert [m for m in loaded if m.startswith(web_server)] == []
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

"""A steady stream of real-SDK error envelopes to a live server that keeps being killed.

Several sender threads post envelopes (each with a fresh event id) as fast as the server
answers. Meanwhile the harness ``kill -9``s the server (or only its worker) and restarts it.
Afterwards every event answered 200 must be stored exactly once, and the issue counter must
equal the number of stored events. Used by the crash tests and, with bigger numbers, by
``bench/crash_stream.py`` for the figures in docs/reliability.md.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select
from tests.conftest import LiveVedette, ProjectHandle
from tests.retime import retime

from vedette.settings import Settings
from vedette.storage.schema import events

LEASE_SECONDS = float(Settings.model_fields["spool_lease_seconds"].default)

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
TEMPLATE = retime((CORPORA / "sdk-python" / "error_zero_division.envelope").read_bytes())
TEMPLATE_ID = b"48ff7871266a4a838ea1b6f0bffcf293"


@dataclass
class StreamReport:
    sent: int = 0
    acknowledged: list[str] = field(default_factory=list)
    refused: int = 0  # answered, but not 200 (e.g. 503 while starting)
    unanswered: int = 0  # connection refused or reset: the sender knows it was not stored
    kills: int = 0
    stored: int = 0
    lost: int = 0
    duplicates: int = 0
    issue_count: int = 0


class SteadyStream:
    """Sender threads posting envelopes until stopped; tolerant of a dead server."""

    def __init__(self, server: LiveVedette, project: ProjectHandle, senders: int = 4) -> None:
        self._url = f"{server.base_url}/api/{project.id}/envelope/"
        self._headers = {
            "X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"
        }
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.report = StreamReport()
        self._threads = [threading.Thread(target=self._send_loop) for _ in range(senders)]

    def __enter__(self) -> SteadyStream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def wait_for_acknowledged(self, count: int, timeout: float = 30.0) -> None:
        """Block until ``count`` more events have been acknowledged (the stream is flowing)."""
        target = len(self.report.acknowledged) + count
        deadline = time.monotonic() + timeout
        while len(self.report.acknowledged) < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"stream stalled at {len(self.report.acknowledged)}")
            time.sleep(0.01)

    def _send_loop(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                event_id = uuid.uuid4().hex
                body = TEMPLATE.replace(TEMPLATE_ID, event_id.encode())
                try:
                    response = client.post(self._url, content=body, headers=self._headers)
                except httpx.TransportError:
                    with self._lock:
                        self.report.sent += 1
                        self.report.unanswered += 1
                    time.sleep(0.02)  # the server is down: retry soon, do not spin
                    continue
                with self._lock:
                    self.report.sent += 1
                    if response.status_code == 200:
                        self.report.acknowledged.append(event_id)
                    else:
                        self.report.refused += 1


def worker_pids(server: LiveVedette) -> list[int]:
    """The server's worker process (its child running ``vedette.worker_process``)."""
    assert server.process is not None
    pids = []
    for task in Path(f"/proc/{server.process.pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        for child in children:
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:  # a killed worker, reaped between the two reads
                continue
            if b"from vedette.worker_process import main" in cmdline:
                pids.append(int(child))
    return pids


def kill_worker(server: LiveVedette) -> None:
    """SIGKILL to the worker alone, once the supervisor has (re)started one."""
    deadline = time.monotonic() + 30
    while not (pids := worker_pids(server)):
        assert time.monotonic() < deadline, "the server has a worker process"
        time.sleep(0.05)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def run_crash_stream(
    server: LiveVedette,
    project: ProjectHandle,
    kills: int,
    crash: Callable[[LiveVedette], None],
    between_kills: int = 40,
    senders: int = 4,
    **settings: str,
) -> StreamReport:
    """Stream while ``crash`` hits the server ``kills`` times, each after ``between_kills``
    further acknowledgements; then drain and compare what was acknowledged with what is stored."""
    server.start(**settings)
    with SteadyStream(server, project, senders) as stream:
        for _ in range(kills):
            stream.wait_for_acknowledged(between_kills)
            crash(server)
            # The crashed worker's leased entries (PostgreSQL) are free again at once.
            server.shift_clock(float(settings.get("spool_lease_seconds", LEASE_SECONDS)))
            stream.report.kills += 1
            if server.process is None:  # the whole server died: bring it back
                server.start(**settings)
        stream.wait_for_acknowledged(between_kills)
    server.wait_processed(timeout=120)
    report = stream.report
    stored = stored_counts(server, project)
    acknowledged = set(report.acknowledged)
    report.stored = len(stored)
    report.lost = len(acknowledged - set(stored))
    report.duplicates = sum(n - 1 for n in stored.values())
    issues = server.issues(project)
    report.issue_count = sum(int(issue["count"]) for issue in issues)
    return report


def stored_counts(server: LiveVedette, project: ProjectHandle) -> dict[str, int]:
    with server.db.read() as conn:
        rows = conn.execute(
            select(events.c.event_id, func.count())
            .where(events.c.project_id == project.id)
            .group_by(events.c.event_id)
        )
        return {event_id: n for event_id, n in rows}


def send_errors(server: LiveVedette, project: ProjectHandle, count: int) -> list[str]:
    """Send ``count`` envelopes; return the ids of those answered 200."""
    accepted = []
    headers = {"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"}
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for _ in range(count):
            event_id = uuid.uuid4().hex
            body = TEMPLATE.replace(TEMPLATE_ID, event_id.encode())
            response = client.post(f"/api/{project.id}/envelope/", content=body, headers=headers)
            assert response.status_code == 200, response.text
            accepted.append(event_id)
    return accepted


def a_batch_later(server: LiveVedette, depth: int) -> int:
    """Wait until the worker has committed a batch (the spool is shallower than ``depth``) and
    return the new depth, which must still hold work for the next batch."""
    deadline = time.monotonic() + 30
    while (now := server.api_get("/api/0/internal/spool/")["depth"]) >= depth:
        assert time.monotonic() < deadline, f"no batch committed within 30 s (depth {now})"
        time.sleep(0.01)
    assert now > 0, "the worker drained the spool before it could be killed mid-stream"
    return int(now)

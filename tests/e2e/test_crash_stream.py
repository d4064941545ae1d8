"""Crash safety under a steady stream: kill -9 mid-stream, restart, nothing acknowledged lost."""

from __future__ import annotations

from tests.conftest import LiveVedette
from tests.e2e.crash_stream import kill_worker, run_crash_stream


def test_server_killed_mid_stream_three_times_loses_and_duplicates_nothing(
    own_server: LiveVedette,
) -> None:
    project = own_server.create_project()
    report = run_crash_stream(own_server, project, kills=3, crash=LiveVedette.kill)

    assert report.kills == 3
    assert len(report.acknowledged) >= 4 * 40
    assert report.lost == 0, "every event answered 200 is stored"
    assert report.duplicates == 0, "and stored once"
    # Events whose 200 was cut off by the kill may be stored too (the client retries those).
    assert report.stored >= len(report.acknowledged)
    assert report.issue_count == report.stored, "issue counters match the stored events"


def test_worker_killed_mid_stream_is_restarted_and_loses_nothing(
    own_server: LiveVedette,
) -> None:
    project = own_server.create_project()
    report = run_crash_stream(
        own_server,
        project,
        kills=2,
        crash=kill_worker,
        worker_batch_size="10",
    )

    assert report.kills == 2
    assert report.unanswered == 0, "ingest never stops while only the worker dies"
    assert report.lost == 0
    assert report.duplicates == 0
    assert report.stored == len(report.acknowledged)
    assert report.issue_count == report.stored

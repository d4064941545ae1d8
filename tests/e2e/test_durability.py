"""'200 means durably stored': the spool survives kill -9 of the server and of its worker."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from tests.conftest import LiveVedette
from tests.e2e.crash_stream import (
    LEASE_SECONDS,
    TEMPLATE,
    TEMPLATE_ID,
    a_batch_later,
    send_errors,
    stored_counts,
)

from vedette.storage.schema import dead_letters


def test_acknowledged_envelopes_are_in_the_spool_before_any_processing(
    own_server: LiveVedette,
) -> None:
    own_server.start(worker_enabled="false")
    project = own_server.create_project()
    accepted = send_errors(own_server, project, 25)
    own_server.kill()  # no graceful shutdown: only what was committed survives

    assert own_server.spool_depth() == 25
    assert stored_counts(own_server, project) == {}

    own_server.start()
    own_server.wait_processed()
    assert stored_counts(own_server, project) == dict.fromkeys(accepted, 1)


def test_killing_the_worker_mid_batch_loses_and_duplicates_nothing(
    own_server: LiveVedette,
) -> None:
    own_server.start(worker_enabled="false")
    project = own_server.create_project()
    accepted = send_errors(own_server, project, 400)
    own_server.kill()  # acknowledged is durable; a graceful stop would only wait

    # On PostgreSQL (several processes may share it) a crashed worker's entries come back when
    # its lease (60 s) expires: the test moves the server's lease clock past it instead of
    # waiting. SQLite's file spool resumes from its cursor.
    kills, depth = 0, 400
    for _ in range(3):
        own_server.start(worker_batch_size="20")
        depth = a_batch_later(own_server, depth)  # the worker is mid-stream: kill it there
        own_server.kill()
        own_server.shift_clock(LEASE_SECONDS)
        kills += 1
    own_server.start()
    own_server.wait_processed(timeout=60)

    assert kills == 3
    counts = stored_counts(own_server, project)
    assert set(counts) == set(accepted), "every acknowledged event is stored"
    assert set(counts.values()) == {1}, "and stored exactly once"
    with own_server.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(dead_letters)).scalar_one() == 0
    issues = own_server.issues(project)
    assert len(issues) == 1
    assert issues[0]["count"] == "400", "issue counters are not double-counted by retries"


def test_resending_an_event_id_stores_it_once(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    event_id = uuid.uuid4().hex
    body = TEMPLATE.replace(TEMPLATE_ID, event_id.encode())
    headers = {"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"}
    for _ in range(3):
        response = live_vedette.http.post(
            f"/api/{project.id}/envelope/", content=body, headers=headers
        )
        assert response.status_code == 200
    live_vedette.wait_processed()
    assert stored_counts(live_vedette, project) == {event_id: 1}
    assert live_vedette.issues(project)[0]["count"] == "1"

"""Two workers (PostgreSQL) storing the first events of one new issue at the same moment, and
a worker storing an event of an issue that retention is deleting."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select, text
from tests.conftest import BACKENDS
from tests.retime import retime
from tests.waiting import wait_for

from vedette.domain.envelope import parse_envelope
from vedette.domain.processed import ProcessedEnvelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.storage import accounts, retention
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed
from vedette.storage.schema import events, groups

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
TEMPLATE = retime((CORPORA / "sdk-python" / "error_zero_division.envelope").read_bytes())
TEMPLATE_ID = b"48ff7871266a4a838ea1b6f0bffcf293"


def processed_error() -> ProcessedEnvelope:
    """A new error of one known issue, without a release (a shared release row would make the
    second writer wait before its issue lookup and hide the race)."""
    body = TEMPLATE.replace(TEMPLATE_ID, uuid.uuid4().hex.encode())
    processed = process_envelope(parse_envelope(body), time.time(), None, ProcessingConfig())
    for error in processed.errors:
        error.event.pop("release", None)
    return processed


def waiting_on_a_lock(db: Database) -> bool:
    """Whether another connection of the database waits for a row lock."""
    with db.read() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return int(waiting) > 0


def contend(
    db: Database, holder: Callable[[Connection], None], contender: Callable[[Connection], None]
) -> None:
    """``holder`` runs in a write transaction that stays open until ``contender``, in another,
    waits for one of its locks; then both commit. What either raised is raised here."""
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with db.write() as conn:
                holder(conn)
                holding.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)

    def second() -> None:
        try:
            with db.write() as conn:
                contender(conn)
        except BaseException as exc:
            errors.append(exc)

    a = threading.Thread(target=first)
    a.start()
    assert holding.wait(10)
    b = threading.Thread(target=second)
    b.start()
    wait_for(lambda: waiting_on_a_lock(db))
    release.set()
    a.join(10)
    b.join(10)
    assert not errors, errors


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="concurrent writers are PostgreSQL's")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_racing_workers_agree_on_one_issue(db: Database) -> None:
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "race")
    # The second worker waits on the first one's new hash row.
    contend(
        db,
        lambda conn: store_processed(conn, [(project.id, processed_error())]),
        lambda conn: store_processed(conn, [(project.id, processed_error())]),
    )

    with db.read() as conn:
        issues = conn.execute(
            select(groups.c.id, groups.c.times_seen).where(groups.c.project_id == project.id)
        ).all()
        stored = conn.execute(
            select(func.count()).select_from(events).where(events.c.project_id == project.id)
        ).scalar_one()
    assert stored == 2
    assert len(issues) == 1
    assert issues[0].times_seen == 2


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="concurrent writers are PostgreSQL's")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_event_of_an_issue_retention_is_deleting_starts_a_new_issue(db: Database) -> None:
    """Retention deletes an idle issue under its row lock; a worker storing a new event of it
    meanwhile found the issue by its hash, then no issue under the lock (a KeyError, and the
    batch retried entry by entry). It waits for the lock and starts a new issue now."""
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "idle")
        store_processed(conn, [(project.id, processed_error())], now=time.time())
        [old] = conn.execute(select(groups.c.id).where(groups.c.project_id == project.id)).all()
        conn.execute(events.delete().where(events.c.group_id == old.id))  # expired already

    def retention_job(conn: Connection) -> None:
        assert retention._delete_issue_if_idle(conn, old.id, time.time() + 1) == 1

    # The worker waits on the issue retention holds.
    contend(
        db, retention_job, lambda conn: store_processed(conn, [(project.id, processed_error())])
    )
    with db.read() as conn:
        issues = conn.execute(
            select(groups.c.id, groups.c.times_seen).where(groups.c.project_id == project.id)
        ).all()
    assert len(issues) == 1 and issues[0].id != old.id and issues[0].times_seen == 1

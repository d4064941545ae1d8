"""Two workers (PostgreSQL) storing the first events of one new issue at the same moment."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.conftest import BACKENDS
from tests.retime import retime

from vedette.domain.envelope import parse_envelope
from vedette.domain.processed import ProcessedEnvelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.storage import accounts
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


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="concurrent writers are PostgreSQL's")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_racing_workers_agree_on_one_issue(db: Database) -> None:
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "race")
    first_inside = threading.Event()
    release_first = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with db.write() as conn:
                store_processed(conn, [(project.id, processed_error())])
                first_inside.set()
                release_first.wait(10)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def second() -> None:
        try:
            with db.write() as conn:
                store_processed(conn, [(project.id, processed_error())])
        except BaseException as exc:
            errors.append(exc)

    a = threading.Thread(target=first)
    a.start()
    assert first_inside.wait(10)
    b = threading.Thread(target=second)
    b.start()
    time.sleep(0.5)  # the second worker is now waiting on the first one's new hash row
    release_first.set()
    a.join(10)
    b.join(10)
    assert not errors, errors

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

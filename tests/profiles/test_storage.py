"""Profiles stored once on both engines, found by transaction and by profiler, and expired."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from tests.profiles.support import CHUNK_ID, PROFILER_ID, chunk, envelope_of

from vedette.domain.envelope import parse_envelope
from vedette.domain.profiles import PROFILE_CHUNK, TRANSACTION_PROFILE
from vedette.domain.retention import RetentionPolicy
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.storage import accounts, profiles, retention
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed

CORPUS = Path(__file__).parents[1] / "fixtures" / "corpora" / "sdk-python"
PROFILE_ID = "51da1e852bd14cfea5e3161180477092"  # the corpus profile's id


@pytest.fixture
def stored(db: Database) -> tuple[int, float]:
    """A project holding the Python SDK's transaction profile and one chunk; the profile's
    start time."""
    envelopes = [
        parse_envelope((CORPUS / "transaction_with_profile.envelope").read_bytes()),
        parse_envelope(envelope_of(({"type": "profile_chunk"}, orjson.dumps(chunk())))),
    ]
    with db.write() as conn:
        pid = accounts.create_project(conn, "acme", "profiles").id
        for _ in range(2):  # a re-delivery stores nothing twice
            batch = [(pid, process_envelope(e, 0.0, None, ProcessingConfig())) for e in envelopes]
            store_processed(conn, batch)
        found = profiles.get_profile(conn, pid, PROFILE_ID)
    assert found is not None
    return pid, found.start


def test_a_profile_is_stored_once_and_read_back_whole(
    db: Database, stored: tuple[int, float]
) -> None:
    pid, start = stored
    with db.read() as conn:
        found = profiles.transaction_profiles(conn, pid, "profile-me", start - 1, start + 1)
        assert profiles.get_profile(conn, pid, PROFILE_ID, PROFILE_CHUNK) is None
    assert [p.profile_id for p in found] == [PROFILE_ID]
    (record,) = found
    assert record.kind == TRANSACTION_PROFILE
    assert record.trace_id == "31080a270b7646898a1a1d37552f8383"
    assert len(record.profile.samples) == 57
    assert record.profile.thread_names[record.profile.active_thread_id or ""] == "MainThread"


@pytest.mark.parametrize(
    ("offset", "expected"),
    [((-1.0, 1.0), [CHUNK_ID]), ((-10.0, -5.0), []), ((5.0, 10.0), [])],
)
def test_chunks_of_a_profiler_in_a_time_range(
    db: Database, stored: tuple[int, float], offset: tuple[float, float], expected: list[str]
) -> None:
    pid, _ = stored
    with db.read() as conn:
        (first,) = profiles.profiler_chunks(conn, pid, PROFILER_ID, 0, 2**40)
        start = first.start
        found = profiles.profiler_chunks(
            conn, pid, PROFILER_ID, start + offset[0], start + offset[1]
        )
    assert [c.profile_id for c in found] == expected


def test_retention_deletes_old_profiles(db: Database, stored: tuple[int, float]) -> None:
    pid, start = stored
    policy = RetentionPolicy(
        max_age_seconds=10**10, max_events_per_issue=10, span_max_age_seconds=10**10,
        log_max_age_seconds=10**10, profile_max_age_seconds=3600,
    )  # fmt: skip
    with db.read() as conn:
        chunk_start = profiles.profiler_chunks(conn, pid, PROFILER_ID, 0, 2**40)[0].start
    earliest, latest = sorted((start, chunk_start))
    assert retention.cleanup(db, policy, earliest + 60, batch=1).profiles == 0
    assert retention.cleanup(db, policy, latest + 7200, batch=1).profiles == 2
    with db.read() as conn:
        assert profiles.get_profile(conn, pid, PROFILE_ID) is None

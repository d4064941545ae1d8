"""Sampled profiles: stored once each with the batch that brought them (docs/profiles.md).

A row per transaction profile or continuous profile chunk; the normalised profile is packed
by `storage.codec`. Reads load whole profiles: the flame graph of a transaction merges at most
``MAX_MERGED`` of its newest profiles, so one page never unpacks an unbounded number of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from vedette.domain.processed import ProcessedEnvelope
from vedette.domain.profiles import (
    PROFILE_CHUNK,
    TRANSACTION_PROFILE,
    ProfileRecord,
    SampledProfile,
)
from vedette.storage.codec import pack, unpack
from vedette.storage.dialect import insert_ignore
from vedette.storage.schema import profiles

MAX_MERGED = 200


def store_profiles(conn: Connection, batch: Sequence[tuple[int, ProcessedEnvelope]]) -> None:
    """Insert the batch's profiles; one stored before (same project and id) is skipped."""
    rows = [_row(pid, record) for pid, env in batch for record in env.profiles]
    if rows:
        conn.execute(insert_ignore(conn, profiles), rows)


def _row(project_id: int, record: ProfileRecord) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "kind": record.kind,
        "profile_id": record.profile_id,
        "profiler_id": record.profiler_id,
        "transaction_id": record.transaction_id,
        "transaction_name": record.transaction_name,
        "trace_id": record.trace_id,
        "release": record.release,
        "environment": record.environment,
        "platform": record.platform,
        "start_timestamp": record.start,
        "end_timestamp": record.end,
        "duration": record.duration,
        "sample_count": len(record.profile.samples),
        "payload": pack(record.profile.to_payload()),
    }


def _record(row: Row[Any]) -> ProfileRecord:
    return ProfileRecord(
        kind=row.kind,
        profile_id=row.profile_id,
        profiler_id=row.profiler_id,
        transaction_id=row.transaction_id,
        transaction_name=row.transaction_name,
        trace_id=row.trace_id,
        release=row.release,
        environment=row.environment,
        platform=row.platform,
        start=row.start_timestamp,
        end=row.end_timestamp,
        profile=SampledProfile.from_payload(unpack(row.payload)),
    )


def get_profile(
    conn: Connection, project_id: int, profile_id: str, kind: str | None = None
) -> ProfileRecord | None:
    """One profile or chunk by its id (of ``kind`` when given)."""
    query = select(profiles).where(
        profiles.c.project_id == project_id, profiles.c.profile_id == profile_id
    )
    if kind is not None:
        query = query.where(profiles.c.kind == kind)
    row = conn.execute(query).first()
    return None if row is None else _record(row)


def transaction_profiles(
    conn: Connection,
    project_id: int,
    transaction: str,
    start: float,
    end: float,
    limit: int = MAX_MERGED,
) -> list[ProfileRecord]:
    """The newest profiles of a transaction name that started in [start, end)."""
    rows = conn.execute(
        select(profiles)
        .where(
            profiles.c.project_id == project_id,
            profiles.c.transaction_name == transaction,
            profiles.c.start_timestamp >= start,
            profiles.c.start_timestamp < end,
            profiles.c.kind == TRANSACTION_PROFILE,
        )
        .order_by(profiles.c.start_timestamp.desc())
        .limit(limit)
    ).all()
    return [_record(r) for r in rows]


def profiler_chunks(
    conn: Connection,
    project_id: int,
    profiler_id: str,
    start: float,
    end: float,
    limit: int = MAX_MERGED,
) -> list[ProfileRecord]:
    """The chunks of one continuous profiler that overlap [start, end), oldest first."""
    rows = conn.execute(
        select(profiles)
        .where(
            profiles.c.project_id == project_id,
            profiles.c.profiler_id == profiler_id,
            profiles.c.start_timestamp < end,
            profiles.c.end_timestamp >= start,
            profiles.c.kind == PROFILE_CHUNK,
        )
        .order_by(profiles.c.start_timestamp)
        .limit(limit)
    ).all()
    return [_record(r) for r in rows]

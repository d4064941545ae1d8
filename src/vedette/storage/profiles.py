"""Sampled profiles: stored once each with the batch that brought them (docs/profiles.md).

A row per transaction profile or continuous profile chunk; the normalised profile is packed
by `storage.codec`. Reads load whole profiles: the flame graph of a transaction merges at most
``MAX_MERGED`` of its newest profiles holding at most ``MAX_MERGED_SAMPLES`` samples together
(always at least one profile), so one page never unpacks an unbounded amount of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, select

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
MAX_MERGED_SAMPLES = 500_000


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
    conn: Connection, project_id: int, transaction: str, start: float, end: float
) -> list[ProfileRecord]:
    """The newest profiles of a transaction name that started in [start, end)."""
    where = (
        profiles.c.project_id == project_id,
        profiles.c.transaction_name == transaction,
        profiles.c.start_timestamp >= start,
        profiles.c.start_timestamp < end,
        profiles.c.kind == TRANSACTION_PROFILE,
    )
    return _load(conn, where, profiles.c.start_timestamp.desc())


def profiler_chunks(
    conn: Connection, project_id: int, profiler_id: str, start: float, end: float
) -> list[ProfileRecord]:
    """The chunks of one continuous profiler that overlap [start, end), oldest first."""
    where = (
        profiles.c.project_id == project_id,
        profiles.c.profiler_id == profiler_id,
        profiles.c.start_timestamp < end,
        profiles.c.end_timestamp >= start,
        profiles.c.kind == PROFILE_CHUNK,
    )
    return _load(conn, where, profiles.c.start_timestamp)


def _load(
    conn: Connection, where: tuple[ColumnElement[bool], ...], order: ColumnElement[Any]
) -> list[ProfileRecord]:
    """Rows in ``order`` within the merge budget, unpacked; the sizes are read first, so
    rows past the budget are never loaded."""
    sizes = conn.execute(
        select(profiles.c.id, profiles.c.sample_count)
        .where(*where)
        .order_by(order, profiles.c.id)
        .limit(MAX_MERGED)
    ).all()
    chosen: list[int] = []
    total = 0
    for row_id, count in sizes:
        total += count
        if chosen and total > MAX_MERGED_SAMPLES:
            break
        chosen.append(row_id)
    if not chosen:
        return []
    rows = conn.execute(select(profiles).where(profiles.c.id.in_(chosen))).all()
    position = {row_id: index for index, row_id in enumerate(chosen)}
    return [_record(r) for r in sorted(rows, key=lambda r: position[r.id])]

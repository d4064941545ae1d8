"""SQL for the spool: append, claim with a lease, acknowledge, dead-letter."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, or_, select, update

from vedette.storage.schema import dead_letters, spool


@dataclass(frozen=True, slots=True)
class NewEntry:
    project_id: int
    received_at: float
    client_ip: str | None
    payload: bytes


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    id: int
    project_id: int
    received_at: float
    client_ip: str | None
    payload: bytes
    failures: int


def append(conn: Connection, entries: Sequence[NewEntry]) -> None:
    conn.execute(
        spool.insert(),
        [
            {
                "project_id": e.project_id,
                "received_at": e.received_at,
                "client_ip": e.client_ip,
                "payload": e.payload,
            }
            for e in entries
        ],
    )


def claim(conn: Connection, limit: int, now: float, lease_seconds: float) -> list[SpoolEntry]:
    """Lease up to ``limit`` of the oldest entries that nobody holds (or whose lease ran out).

    SKIP LOCKED lets several processes on PostgreSQL claim disjoint batches; SQLite ignores it
    (one writer at a time anyway).
    """
    available = (
        select(spool.c.id)
        .where(or_(spool.c.lease_until.is_(None), spool.c.lease_until < now))
        .order_by(spool.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = conn.execute(
        update(spool)
        .where(spool.c.id.in_(available))
        .values(lease_until=now + lease_seconds)
        .returning(
            spool.c.id,
            spool.c.project_id,
            spool.c.received_at,
            spool.c.client_ip,
            spool.c.payload,
            spool.c.failures,
        )
    ).all()
    entries = [
        SpoolEntry(r.id, r.project_id, r.received_at, r.client_ip, bytes(r.payload), r.failures)
        for r in rows
    ]
    entries.sort(key=lambda e: e.id)
    return entries


def acknowledge(conn: Connection, ids: Iterable[int]) -> None:
    """Remove processed entries; called inside the transaction that stores their results."""
    id_list = list(ids)
    if id_list:
        conn.execute(delete(spool).where(spool.c.id.in_(id_list)))


def record_failure(conn: Connection, entry_id: int, error: str) -> None:
    """Count a failed attempt and release the lease so the entry is retried."""
    conn.execute(
        update(spool)
        .where(spool.c.id == entry_id)
        .values(failures=spool.c.failures + 1, last_error=error[:4000], lease_until=None)
    )


def dead_letter(conn: Connection, entry: SpoolEntry, error: str) -> None:
    conn.execute(
        dead_letters.insert().values(
            spool_id=entry.id,
            project_id=entry.project_id,
            received_at=entry.received_at,
            client_ip=entry.client_ip,
            payload=entry.payload,
            error=error[:4000],
            failed_at=time.time(),
        )
    )
    acknowledge(conn, [entry.id])


@dataclass(frozen=True, slots=True)
class SpoolStats:
    depth: int
    oldest_received_at: float | None
    dead_letters: int


def stats(conn: Connection) -> SpoolStats:
    depth, oldest = conn.execute(select(func.count(), func.min(spool.c.received_at))).one()
    dead = conn.execute(select(func.count()).select_from(dead_letters)).scalar_one()
    return SpoolStats(int(depth), oldest, int(dead))

"""SQL for the two spools: a leased table (PostgreSQL) and a file read by cursor (SQLite)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Table, delete, func, or_, select, update

from vedette.domain.spooled import NewEntry, SpoolEntry
from vedette.storage.dialect import upsert_add
from vedette.storage.schema import dead_letters, spool, spool_cursor

FILE_CURSOR = "sqlite-file"  # the first spool file's, the only one before there were several


def cursor_name(file_index: int) -> str:
    """The name of a spool file's row in ``spool_cursor``."""
    return FILE_CURSOR if file_index == 0 else f"{FILE_CURSOR}-{file_index}"


def append(conn: Connection, table: Table, entries: Sequence[NewEntry]) -> None:
    conn.execute(
        table.insert(),
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


def _entries(rows: Iterable[object], id_offset: int = 0) -> list[SpoolEntry]:
    entries = [
        SpoolEntry(r.id + id_offset, r.project_id, r.received_at, r.client_ip, bytes(r.payload))  # type: ignore[attr-defined]
        for r in rows
    ]
    entries.sort(key=lambda e: e.id)
    return entries


def claim_leased(
    conn: Connection, limit: int, now: float, lease_seconds: float
) -> list[SpoolEntry]:
    """Lease up to ``limit`` of the oldest entries that nobody holds (or whose lease ran out).

    SKIP LOCKED lets several processes on PostgreSQL claim disjoint batches.
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
            spool.c.id, spool.c.project_id, spool.c.received_at, spool.c.client_ip, spool.c.payload
        )
    )
    return _entries(rows)


def delete_entries(conn: Connection, table: Table, ids: Iterable[int]) -> None:
    id_list = list(ids)
    if id_list:
        conn.execute(delete(table).where(table.c.id.in_(id_list)))


def read_after(
    conn: Connection, table: Table, after_id: int, limit: int, id_offset: int = 0
) -> list[SpoolEntry]:
    """Up to ``limit`` entries after ``after_id``, their ids moved by ``id_offset``."""
    rows = conn.execute(
        select(table.c.id, table.c.project_id, table.c.received_at, table.c.client_ip,
               table.c.payload)
        .where(table.c.id > after_id)
        .order_by(table.c.id)
        .limit(limit)
    )  # fmt: skip
    return _entries(rows, id_offset)


def delete_through(conn: Connection, table: Table, last_id: int) -> None:
    conn.execute(delete(table).where(table.c.id <= last_id))


def read_cursors(conn: Connection) -> dict[str, int]:
    """Every spool file's cursor by name (a file without one has consumed nothing)."""
    rows = conn.execute(select(spool_cursor.c.name, spool_cursor.c.last_id))
    return {name: int(last_id) for name, last_id in rows}


def advance_cursor(conn: Connection, name: str, last_id: int) -> None:
    stmt = upsert_add(conn, spool_cursor, key=("name",), add=(), greatest_of=("last_id",))
    conn.execute(stmt, [{"name": name, "last_id": last_id}])


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


@dataclass(frozen=True, slots=True)
class SpoolStats:
    depth: int
    oldest_received_at: float | None
    dead_letters: int


def pending(conn: Connection, table: Table, after_id: int = 0) -> tuple[int, float | None]:
    depth, oldest = conn.execute(
        select(func.count(), func.min(table.c.received_at)).where(table.c.id > after_id)
    ).one()
    return int(depth), oldest


def dead_letter_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(dead_letters)).scalar_one())

"""Uploaded chunks (stored once by SHA-1, owned by each organisation that uploaded them) and
the files assembled from them: artifact bundles, release files and debug files; retention
forgets all three. An organisation assembles only chunks it uploaded itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, select

from vedette.storage.database import Database
from vedette.storage.dialect import insert_ignore
from vedette.storage.schema import (
    upload_chunk_owners,
    upload_chunks,
    upload_file_chunks,
    upload_files,
)

_c = upload_files.c
_FILES = select(_c.id, _c.project_id, _c.kind, _c.checksum, _c.name, _c.release, _c.dist,
                _c.debug_id, _c.size, _c.created_at)  # fmt: skip


@dataclass(frozen=True, slots=True)
class UploadedFile:
    id: int
    project_id: int | None
    kind: str
    checksum: str
    name: str
    release: str | None
    dist: str | None
    debug_id: str | None
    size: int
    created_at: float


@dataclass(frozen=True, slots=True)
class NewFile:
    organization_id: int
    project_id: int | None
    kind: str
    checksum: str
    name: str
    release: str | None = None
    dist: str | None = None
    debug_id: str | None = None


def stored_checksums(
    conn: Connection, organization_id: int, checksums: Sequence[str]
) -> dict[str, int]:
    """The chunks of ``checksums`` the organisation uploaded, with their sizes."""
    if not checksums:
        return {}
    rows = conn.execute(
        select(upload_chunks.c.checksum, upload_chunks.c.size)
        .join(upload_chunk_owners, upload_chunk_owners.c.checksum == upload_chunks.c.checksum)
        .where(
            upload_chunk_owners.c.organization_id == organization_id,
            upload_chunks.c.checksum.in_(set(checksums)),
        )
    )
    return {checksum: int(size) for checksum, size in rows}


def save_chunks(
    conn: Connection, organization_id: int, chunks: dict[str, bytes], now: float
) -> None:
    """Chunks the organisation uploaded: stored unless stored already (by anyone), and now
    the organisation's."""
    for checksum, data in chunks.items():
        conn.execute(
            insert_ignore(conn, upload_chunks).values(
                checksum=checksum, size=len(data), data=data, uploaded_at=now
            )
        )
        owner = (upload_chunk_owners.c.organization_id == organization_id) & (
            upload_chunk_owners.c.checksum == checksum
        )
        conn.execute(delete(upload_chunk_owners).where(owner))  # uploaded again: now
        conn.execute(
            insert(upload_chunk_owners).values(
                organization_id=organization_id, checksum=checksum, uploaded_at=now
            )
        )


def chunk_data(conn: Connection, checksums: Sequence[str]) -> dict[str, bytes]:
    rows = conn.execute(
        select(upload_chunks.c.checksum, upload_chunks.c.data).where(
            upload_chunks.c.checksum.in_(set(checksums))
        )
    )
    return {checksum: bytes(data) for checksum, data in rows}


def find_file(conn: Connection, new: NewFile) -> UploadedFile | None:
    """The file of this organisation, kind, checksum and (for release files) name and release."""
    stmt = _FILES.where(
        upload_files.c.organization_id == new.organization_id,
        upload_files.c.kind == new.kind,
        upload_files.c.checksum == new.checksum,
        upload_files.c.project_id.is_(None)
        if new.project_id is None
        else upload_files.c.project_id == new.project_id,
    )
    if new.kind == "release_file":
        stmt = stmt.where(upload_files.c.name == new.name, upload_files.c.release == new.release)
    row = conn.execute(stmt.limit(1)).one_or_none()
    return None if row is None else UploadedFile(**row._mapping)


def add_file(
    conn: Connection, new: NewFile, chunks: Sequence[str], size: int, now: float
) -> UploadedFile:
    """The file made of ``chunks`` (stored already), unless the same file is there."""
    existing = find_file(conn, new)
    if existing is not None:
        return existing
    result = conn.execute(
        insert(upload_files).values(
            organization_id=new.organization_id, project_id=new.project_id, kind=new.kind,
            checksum=new.checksum, name=new.name, release=new.release, dist=new.dist,
            debug_id=new.debug_id, size=size, created_at=now,
        )
    )  # fmt: skip
    file_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    for position, checksum in enumerate(chunks):
        conn.execute(
            insert(upload_file_chunks).values(file_id=file_id, position=position, checksum=checksum)
        )
    found = find_file(conn, new)
    assert found is not None
    return found


def list_files(
    conn: Connection, organization_id: int, kind: str, release: str | None = None,
    project_id: int | None = None,
) -> list[UploadedFile]:  # fmt: skip
    stmt = _FILES.where(
        upload_files.c.organization_id == organization_id, upload_files.c.kind == kind
    )
    if release is not None:
        stmt = stmt.where(upload_files.c.release == release)
    if project_id is not None:
        stmt = stmt.where(upload_files.c.project_id == project_id)
    rows = conn.execute(stmt.order_by(upload_files.c.created_at.desc(), upload_files.c.id.desc()))
    return [UploadedFile(**r._mapping) for r in rows]


def expire(db: Database, cutoff: float, chunk_cutoff: float, batch: int) -> int:
    """Files created before ``cutoff``; chunks uploaded before ``chunk_cutoff`` that no file
    uses (sentry-cli assembles right after uploading), and their owners; in write
    transactions of at most ``batch`` rows. The number of files and chunks removed."""
    old_files = select(upload_files.c.id).where(upload_files.c.created_at < cutoff).limit(batch)
    unused = ~exists().where(upload_file_chunks.c.checksum == upload_chunks.c.checksum)
    old_chunks = (
        select(upload_chunks.c.checksum)
        .where(upload_chunks.c.uploaded_at < chunk_cutoff, unused)
        .limit(batch)
    )
    removed = 0
    for doomed, delete_them in ((old_files, _delete_files), (old_chunks, _delete_chunks)):
        while True:
            with db.read() as conn:  # most runs find nothing and take no write lock
                keys = list(conn.execute(doomed).scalars())
            if keys:
                with db.write() as conn:
                    delete_them(conn, keys)
            removed += len(keys)
            if len(keys) < batch:
                break
    # Owning a chunk matters until a file is made of it: the file is the organisation's then.
    with db.write() as conn:
        conn.execute(
            delete(upload_chunk_owners).where(upload_chunk_owners.c.uploaded_at < chunk_cutoff)
        )
    return removed


def _delete_files(conn: Connection, ids: list[Any]) -> None:
    conn.execute(delete(upload_file_chunks).where(upload_file_chunks.c.file_id.in_(ids)))
    conn.execute(delete(upload_files).where(upload_files.c.id.in_(ids)))


def _delete_chunks(conn: Connection, checksums: list[Any]) -> None:
    """Only chunks still unused: a file may have taken one since it was found."""
    unused = ~exists().where(upload_file_chunks.c.checksum == upload_chunks.c.checksum)
    conn.execute(delete(upload_chunks).where(upload_chunks.c.checksum.in_(checksums), unused))

"""What symbolication reads of the uploads: a project's artifact bundles and release files,
and the bytes of one stored file (its chunks in order)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, func, or_, select

from vedette.storage.schema import projects, upload_chunks, upload_file_chunks, upload_files
from vedette.storage.uploads import _FILES, UploadedFile

# Bundles searched for a debug id or a URL, newest first; older ones are not looked at.
MAX_BUNDLES = 200


def organization_of(conn: Connection, project_id: int) -> int | None:
    found = conn.execute(
        select(projects.c.organization_id).where(projects.c.id == project_id)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def _visible_to(
    organization_id: int, project_id: int
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The project's own uploads and its organisation's uploads for no project in particular."""
    return (
        upload_files.c.organization_id == organization_id,
        or_(upload_files.c.project_id == project_id, upload_files.c.project_id.is_(None)),
    )


def upload_stamp(conn: Connection, organization_id: int, project_id: int) -> tuple[int, int]:
    """How many bundles and release files the project may use, and the newest one's id: what
    the worker's caches of file lists are keyed by (an upload changes it)."""
    count, newest = conn.execute(
        select(func.count(), func.max(upload_files.c.id)).where(
            *_visible_to(organization_id, project_id),
            upload_files.c.kind.in_(("artifact_bundle", "release_file")),
        )
    ).one()
    return int(count or 0), int(newest or 0)


def artifact_bundles(
    conn: Connection, organization_id: int, project_id: int, release: str | None = None
) -> list[UploadedFile]:
    """The bundles the project may use, newest first; of one release when ``release`` is given."""
    stmt = _FILES.where(
        *_visible_to(organization_id, project_id), upload_files.c.kind == "artifact_bundle"
    )
    if release is not None:
        stmt = stmt.where(upload_files.c.release == release)
    stmt = stmt.order_by(upload_files.c.created_at.desc(), upload_files.c.id.desc())
    return [UploadedFile(**r._mapping) for r in conn.execute(stmt.limit(MAX_BUNDLES))]


def release_files(
    conn: Connection, organization_id: int, project_id: int, release: str, names: Sequence[str]
) -> list[UploadedFile]:
    """Release files of the older API stored under one of ``names``, newest first."""
    stmt = _FILES.where(
        *_visible_to(organization_id, project_id),
        upload_files.c.kind == "release_file",
        upload_files.c.release == release,
        upload_files.c.name.in_(list(names)),
    ).order_by(upload_files.c.created_at.desc(), upload_files.c.id.desc())
    return [UploadedFile(**r._mapping) for r in conn.execute(stmt.limit(50))]


def file_bytes(conn: Connection, file_id: int, limit: int) -> bytes | None:
    """A stored file's content, or None when it is larger than ``limit`` bytes or incomplete."""
    rows = conn.execute(
        select(upload_chunks.c.size, upload_chunks.c.data)
        .select_from(
            upload_file_chunks.join(
                upload_chunks, upload_chunks.c.checksum == upload_file_chunks.c.checksum
            )
        )
        .where(upload_file_chunks.c.file_id == file_id)
        .order_by(upload_file_chunks.c.position)
    )
    data = bytearray()
    for size, piece in rows:
        if len(data) + int(size) > limit:
            return None
        data += piece
    return bytes(data) if data else None

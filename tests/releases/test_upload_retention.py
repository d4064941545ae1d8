"""Retention forgets old uploaded files and the chunks no file uses any more."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from vedette.storage import accounts, uploads
from vedette.storage.database import Database
from vedette.storage.schema import upload_chunks
from vedette.storage.uploads import NewFile


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def test_expire_keeps_what_a_recent_file_uses(db: Database) -> None:
    shared, old_only, stray, fresh = b"shared", b"old", b"stray", b"fresh"
    with db.write() as conn:
        org = accounts.create_project(conn, "acme", "web").organization_id
        uploads.save_chunks(conn, {sha1(c): c for c in (shared, old_only, stray)}, now=100.0)
        uploads.save_chunks(conn, {sha1(fresh): fresh}, now=1000.0)
        old = NewFile(org, None, "artifact_bundle", sha1(shared + old_only), "bundle.zip")
        uploads.add_file(conn, old, [sha1(shared), sha1(old_only)], 9, now=100.0)
        new = NewFile(org, None, "artifact_bundle", sha1(shared), "bundle.zip")
        uploads.add_file(conn, new, [sha1(shared)], 6, now=1000.0)

    assert uploads.expire(db, cutoff=500.0, batch=1) == 3  # the old file, its chunk, the stray

    with db.read() as conn:
        left = set(conn.execute(select(upload_chunks.c.checksum)).scalars())
        files = uploads.list_files(conn, org, "artifact_bundle")
    assert left == {sha1(shared), sha1(fresh)}
    assert [f.checksum for f in files] == [sha1(shared)]
    assert uploads.expire(db, cutoff=500.0, batch=1) == 0

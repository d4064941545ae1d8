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
        uploads.save_chunks(conn, org, {sha1(c): c for c in (shared, old_only, stray)}, 100.0)
        uploads.save_chunks(conn, org, {sha1(fresh): fresh}, now=1000.0)
        old = NewFile(org, None, "artifact_bundle", sha1(shared + old_only), "bundle.zip")
        uploads.add_file(conn, old, [sha1(shared), sha1(old_only)], 9, now=100.0)
        new = NewFile(org, None, "artifact_bundle", sha1(shared), "bundle.zip")
        uploads.add_file(conn, new, [sha1(shared)], 6, now=1000.0)

    # the old file, its chunk, the stray
    assert uploads.expire(db, cutoff=500.0, chunk_cutoff=500.0, batch=1) == 3

    with db.read() as conn:
        left = set(conn.execute(select(upload_chunks.c.checksum)).scalars())
        files = uploads.list_files(conn, org, "artifact_bundle")
    assert left == {sha1(shared), sha1(fresh)}
    assert [f.checksum for f in files] == [sha1(shared)]
    assert uploads.expire(db, cutoff=500.0, chunk_cutoff=500.0, batch=1) == 0


def test_chunks_no_file_took_go_after_a_day_and_ownership_with_them(db: Database) -> None:
    """sentry-cli assembles right after it uploads: what no file took by the next day is
    dropped, well before the files' own retention; ownership (what lets an organisation
    assemble a chunk) goes at the same age."""
    kept, stray = b"kept", b"stray"
    with db.write() as conn:
        org = accounts.create_project(conn, "acme", "web").organization_id
        uploads.save_chunks(conn, org, {sha1(kept): kept, sha1(stray): stray}, now=100.0)
        bundle = NewFile(org, None, "artifact_bundle", sha1(kept), "bundle.zip")
        uploads.add_file(conn, bundle, [sha1(kept)], 4, now=100.0)
        assert uploads.stored_checksums(conn, org, [sha1(kept), sha1(stray)]) == {
            sha1(kept): 4, sha1(stray): 5,
        }  # fmt: skip

    assert uploads.expire(db, cutoff=0.0, chunk_cutoff=200.0, batch=10) == 1  # the stray

    with db.read() as conn:
        left = set(conn.execute(select(upload_chunks.c.checksum)).scalars())
        assert left == {sha1(kept)}  # its file keeps it
        assert uploads.stored_checksums(conn, org, [sha1(kept)]) == {}  # to upload again
        assert [f.checksum for f in uploads.list_files(conn, org, "artifact_bundle")] == [
            sha1(kept)
        ]

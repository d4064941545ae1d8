"""The worker's side of symbolication: the uploaded files an event's frames ask for, read from
storage on demand and kept between events (bundle indexes, bundle bytes, parsed maps), so that
the pure step (processing.sourcemaps) sees an ``ArtifactLookup`` and nothing of the database."""

from __future__ import annotations

from collections.abc import Sequence

from vedette.processing.memo import BoundedMemo
from vedette.processing.sourcemap_bundles import BundleEntry, BundleIndex, read_file, read_index
from vedette.processing.sourcemaps import (
    MAX_FILE_BYTES,
    Artifact,
    ParsedMaps,
    SourceMapSymbolicator,
    new_cache,
)
from vedette.storage import source_maps
from vedette.storage.database import Database
from vedette.storage.uploads import UploadedFile

BUNDLE_CACHE_BYTES = 128 * 1024 * 1024
MAX_BUNDLE_BYTES = 256 * 1024 * 1024


class SourceMapStore:
    """What the worker keeps for symbolication while it runs; one per worker."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.parsed: ParsedMaps = new_cache()
        self.indexes: BoundedMemo[BundleIndex] = BoundedMemo(4096, max_weight=2_000_000)
        self.bundles: BoundedMemo[bytes] = BoundedMemo(64, max_weight=BUNDLE_CACHE_BYTES)

    def symbolicator(self, project_id: int) -> SourceMapSymbolicator:
        """The symbolicator of one event of the project."""
        return SourceMapSymbolicator(StoredArtifacts(self, project_id), self.parsed)

    def bundle(self, upload: UploadedFile) -> bytes | None:
        data = self.bundles.get(upload.checksum)
        if data is None:
            with self.db.read() as conn:
                data = source_maps.file_bytes(conn, upload.id, MAX_BUNDLE_BYTES)
            if data is None:
                return None
            self.bundles.put(upload.checksum, data, len(data))
        return data

    def index(self, upload: UploadedFile) -> BundleIndex:
        index = self.indexes.get(upload.checksum)
        if index is None:
            data = self.bundle(upload)
            index = BundleIndex() if data is None else read_index(data)
            self.indexes.put(upload.checksum, index, index.weight())
        return index


class StoredArtifacts:
    """The ``ArtifactLookup`` of one event: the project's uploads (and its organisation's for
    no project in particular), newest first."""

    def __init__(self, store: SourceMapStore, project_id: int) -> None:
        self._store = store
        self._project_id = project_id
        self._organization_id: int | None = None
        self._bundle_lists: dict[str | None, list[UploadedFile]] = {}

    def by_debug_id(self, debug_id: str, kind: str) -> Artifact | None:
        for upload in self._bundles(None):
            entry = self._store.index(upload).by_debug_id.get((debug_id, kind))
            if entry is not None:
                return self._bundled(upload, entry)
        return None

    def by_url(self, release: str, dist: str | None, candidates: Sequence[str]) -> Artifact | None:
        for upload in self._bundles(release):
            if upload.dist != dist:
                continue
            index = self._store.index(upload)
            for url in candidates:
                entry = index.by_url.get(url)
                if entry is not None:
                    return self._bundled(upload, entry)
        organization_id = self._organization()
        if organization_id is None:
            return None
        with self._store.db.read() as conn:
            files = source_maps.release_files(
                conn, organization_id, self._project_id, release, candidates
            )
        for url in candidates:
            for upload in files:
                if upload.name == url and upload.dist == dist:
                    return self._release_file(upload)
        return None

    def _organization(self) -> int | None:
        if self._organization_id is None:
            with self._store.db.read() as conn:
                self._organization_id = source_maps.organization_of(conn, self._project_id)
        return self._organization_id

    def _bundles(self, release: str | None) -> list[UploadedFile]:
        if release not in self._bundle_lists:
            organization_id = self._organization()
            found: list[UploadedFile] = []
            if organization_id is not None:
                with self._store.db.read() as conn:
                    found = source_maps.artifact_bundles(
                        conn, organization_id, self._project_id, release
                    )
            unique = {u.checksum: u for u in reversed(found)}  # newest row of each bundle
            self._bundle_lists[release] = sorted(
                unique.values(), key=lambda u: (u.created_at, u.id), reverse=True
            )
        return self._bundle_lists[release]

    def _bundled(self, upload: UploadedFile, entry: BundleEntry) -> Artifact:
        store = self._store

        def load(limit: int) -> bytes | None:
            data = store.bundle(upload)
            return None if data is None else read_file(data, entry.path, min(limit, MAX_FILE_BYTES))

        return Artifact(f"{upload.checksum}/{entry.path}", entry.url, entry.headers, load)

    def _release_file(self, upload: UploadedFile) -> Artifact:
        db = self._store.db

        def load(limit: int) -> bytes | None:
            with db.read() as conn:
                return source_maps.file_bytes(conn, upload.id, limit)

        return Artifact(f"file:{upload.checksum}", upload.name, {}, load)

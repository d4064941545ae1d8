"""The worker's side of symbolication: the uploaded files an event's frames ask for, read from
storage on demand and kept between events (bundle indexes, bundle bytes, parsed maps), so that
the pure step (processing.sourcemaps) sees an ``ArtifactLookup`` and nothing of the database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from vedette.domain.events import NormalizedEvent
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

log = logging.getLogger(__name__)

BUNDLE_CACHE_BYTES = 128 * 1024 * 1024
MAX_BUNDLE_BYTES = 256 * 1024 * 1024


class SourceMapStore:
    """What the worker keeps for symbolication while it runs; one per worker."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.parsed: ParsedMaps = new_cache()
        self.indexes: BoundedMemo[BundleIndex] = BoundedMemo(4096, max_weight=2_000_000)
        self.bundles: BoundedMemo[bytes] = BoundedMemo(64, max_weight=BUNDLE_CACHE_BYTES)
        self.lists: BoundedMemo[tuple[UploadedFile, ...]] = BoundedMemo(4096, 100_000)
        self._organizations: dict[int, int | None] = {}
        self._scopes: dict[int, tuple[int, tuple[int, int]]] = {}

    def new_batch(self) -> None:
        """A batch starts: uploads are looked at again (once per project and batch)."""
        self._scopes.clear()

    def symbolicate_for(self, project_id: int) -> Callable[[NormalizedEvent], None]:
        """Symbolication of one event of the project. Reading storage may fail (a busy or lost
        database): the event then goes on as it came, rather than being dead-lettered as if
        it could never be processed."""
        symbolicator = SourceMapSymbolicator(StoredArtifacts(self, project_id), self.parsed)

        def symbolicate(event: NormalizedEvent) -> None:
            try:
                symbolicator.symbolicate(event)
            except SQLAlchemyError:
                log.exception("source maps of project %d could not be read", project_id)

        return symbolicate

    def scope(self, project_id: int) -> tuple[int, tuple[int, int]]:
        """The project's organisation and upload stamp, read once per batch."""
        found = self._scopes.get(project_id)
        if found is None:
            with self.db.read() as conn:
                if project_id not in self._organizations:
                    self._organizations[project_id] = source_maps.organization_of(conn, project_id)
                organization_id = self._organizations[project_id]
                stamp = (0, 0)
                if organization_id is not None:
                    stamp = source_maps.upload_stamp(conn, organization_id, project_id)
            found = self._scopes[project_id] = (organization_id or 0, stamp)
        return found

    def has_uploads(self, project_id: int) -> bool:
        """Whether the project may use any uploaded bundle or release file."""
        return self.scope(project_id)[1][0] > 0

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
    no project in particular), newest first. Lists of files are kept between events for as
    long as the project's uploads stay the same (``upload_stamp``)."""

    def __init__(self, store: SourceMapStore, project_id: int) -> None:
        self._store = store
        self._project_id = project_id

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
        files = self._listed(
            ("files", release, tuple(candidates)),
            lambda conn, org: source_maps.release_files(
                conn, org, self._project_id, release, candidates
            ),
        )
        for url in candidates:
            for upload in files:
                if upload.name == url and upload.dist == dist:
                    return self._release_file(upload)
        return None

    def _bundles(self, release: str | None) -> tuple[UploadedFile, ...]:
        def query(conn: Connection, organization_id: int) -> list[UploadedFile]:
            found = source_maps.artifact_bundles(conn, organization_id, self._project_id, release)
            unique = {u.checksum: u for u in reversed(found)}  # the newest row of each bundle
            return sorted(unique.values(), key=lambda u: (u.created_at, u.id), reverse=True)

        return self._listed(("bundles", release), query)

    def _listed(
        self, what: tuple[object, ...], query: Callable[[Connection, int], list[UploadedFile]]
    ) -> tuple[UploadedFile, ...]:
        """Files the query lists, from the store's memo while the uploads stay the same."""
        organization_id, stamp = self._store.scope(self._project_id)
        if stamp[0] == 0:
            return ()
        key = (self._project_id, stamp, *what)
        found = self._store.lists.get(key)
        if found is None:
            with self._store.db.read() as conn:
                found = tuple(query(conn, organization_id))
            self._store.lists.put(key, found, 1 + len(found))
        return found

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

"""Uploads as sentry-cli sends them: the chunk-upload protocol (``chunk-upload/``), artifact
bundles and debug files assembled from chunks, and release files of the older API."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, bounded_body, json_object, json_response
from vedette.api.serialize import iso
from vedette.domain import uploads as protocol
from vedette.domain.uploads import UploadError
from vedette.storage import accounts, uploads
from vedette.storage.tokens import TokenGrant
from vedette.storage.uploads import NewFile, UploadedFile


class UploadEndpoints:
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        o = "/api/0/organizations/{org}"
        p = "/api/0/projects/{org}/{project}"
        wrap = self._access.wrap
        files = ["GET", "POST"]
        return [
            Route(f"{o}/chunk-upload/", wrap(self.chunk_upload), methods=["GET", "POST"]),
            Route(f"{o}/artifactbundle/assemble/", wrap(self.assemble_bundle), methods=["POST"]),
            Route(f"{p}/files/difs/assemble/", wrap(self.assemble_debug_files), methods=["POST"]),
            Route(f"{p}/files/dsyms/", wrap(self.debug_files)),
            Route(f"{p}/files/artifact-bundles/", wrap(self.artifact_bundles)),
            Route(f"{o}/releases/{{version}}/files/", wrap(self.release_files), methods=files),
            Route(f"{p}/releases/{{version}}/files/", wrap(self.release_files), methods=files),
        ]

    async def chunk_upload(self, request: Request, grant: TokenGrant) -> Response:
        """GET: the server's chunking options; POST: chunks, each named by its SHA-1."""
        org_id = await self._access.organization(request, grant)
        if request.method == "GET":
            return json_response(
                {
                    "url": str(request.url.replace(query="")),
                    "chunkSize": protocol.CHUNK_SIZE,
                    "chunksPerRequest": protocol.CHUNKS_PER_REQUEST,
                    "maxFileSize": protocol.MAX_FILE_SIZE,
                    "maxRequestSize": protocol.MAX_REQUEST_SIZE,
                    "concurrency": 1,
                    "hashAlgorithm": "sha1",
                    "compression": [],
                    "accept": protocol.ACCEPTS,
                }
            )
        body = await bounded_body(request, protocol.MAX_REQUEST_SIZE)
        try:
            parts = protocol.form_parts(request.headers.get("content-type", ""), body)
            chunks = protocol.checked_chunks(parts)
        except UploadError as error:
            raise ApiError(400, str(error)) from error
        await self._access.write(lambda c: uploads.save_chunks(c, org_id, chunks, time.time()))
        return Response(status_code=200)

    async def assemble_bundle(self, request: Request, grant: TokenGrant) -> Response:
        org_id = await self._access.organization(request, grant)
        payload = await json_object(request)
        checksum, chunks = _checksum_and_chunks(payload)
        slugs = payload.get("projects") or []
        if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs):
            raise ApiError(400, "projects must be a list of project slugs")
        release, dist = _optional_text(payload, "version"), _optional_text(payload, "dist")

        def project_ids(conn: Connection) -> list[int | None]:
            known = {p.slug: p.id for p in accounts.list_projects(conn, [org_id])}
            if any(s not in known for s in slugs):
                raise ApiError(400, "unknown project in projects")
            return [known[s] for s in slugs] or [None]

        ids = await self._access.read(project_ids)
        files = [
            NewFile(org_id, pid, "artifact_bundle", checksum, "bundle.zip", release, dist)
            for pid in ids
        ]
        state = await self._assemble(files, checksum, chunks)
        return json_response(state)

    async def assemble_debug_files(self, request: Request, grant: TokenGrant) -> Response:
        """Each file of the request (keyed by its checksum) assembled and kept, as Sentry
        answers it; debug files are stored, not used for symbolication."""
        project = await self._access.project(request, grant)
        payload = await json_object(request)
        answer: dict[str, Any] = {}
        for checksum, spec in payload.items():
            if not isinstance(spec, dict):
                raise ApiError(400, "each debug file is an object")
            _, chunks = _checksum_and_chunks({"checksum": checksum, "chunks": spec.get("chunks")})
            name = _optional_text(spec, "name") or checksum
            debug_id = _optional_text(spec, "debug_id")
            new = NewFile(project.organization_id, project.id, "debug_file", checksum, name,
                          debug_id=debug_id)  # fmt: skip
            state = await self._assemble([new], checksum, chunks)
            if state["state"] == "ok":
                stored = await self._access.read(_finder(new))
                state["dif"] = None if stored is None else debug_file_json(stored)
            answer[checksum] = state
        return json_response(answer)

    async def _assemble(
        self, files: list[NewFile], checksum: str, chunks: list[str]
    ) -> dict[str, Any]:
        organization_id = files[0].organization_id

        def run(conn: Connection) -> dict[str, Any]:
            if all(uploads.find_file(conn, f) is not None for f in files):
                return {"state": "ok", "missingChunks": [], "detail": None}
            # Only the organisation's own chunks count: another's are missing to it.
            sizes = uploads.stored_checksums(conn, organization_id, chunks)
            missing = protocol.missing_chunks(chunks, set(sizes))
            if missing:
                return {"state": "not_found", "missingChunks": missing, "detail": None}
            try:
                protocol.check_size(chunks, sizes)
                data = protocol.assemble(checksum, chunks, uploads.chunk_data(conn, chunks))
            except UploadError as error:
                return {"state": "error", "missingChunks": [], "detail": str(error)}
            for new in files:
                uploads.add_file(conn, new, chunks, len(data), time.time())
            return {"state": "ok", "missingChunks": [], "detail": None}

        return await self._access.write(run)

    async def debug_files(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        rows = await self._access.read(
            lambda c: uploads.list_files(
                c, project.organization_id, "debug_file", project_id=project.id
            )
        )
        return json_response([debug_file_json(f) for f in rows])

    async def artifact_bundles(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        rows = await self._access.read(
            lambda c: uploads.list_files(
                c, project.organization_id, "artifact_bundle", project_id=project.id
            )
        )
        return json_response(
            [
                {
                    "bundleId": f.checksum,
                    "release": f.release,
                    "dist": f.dist,
                    "size": f.size,
                    "date": iso(f.created_at),
                }
                for f in rows
            ]
        )

    async def release_files(self, request: Request, grant: TokenGrant) -> Response:
        """The older API: one file per multipart POST (``file``, ``name``, ``dist``)."""
        org_id, project_id = await self._access.scope(request, grant)
        version = request.path_params["version"]
        if request.method == "GET":
            rows = await self._access.read(
                lambda c: uploads.list_files(c, org_id, "release_file", version, project_id)
            )
            return json_response([release_file_json(f) for f in rows])
        body = await bounded_body(request, protocol.CHUNK_SIZE + 64 * 1024)
        try:
            parts = protocol.form_parts(request.headers.get("content-type", ""), body)
        except UploadError as error:
            raise ApiError(400, str(error)) from error
        fields = {p.name: p for p in parts}
        if "file" not in fields or len(fields["file"].data) > protocol.CHUNK_SIZE:
            raise ApiError(400, f"a file of at most {protocol.CHUNK_SIZE} bytes is required")
        data = fields["file"].data
        try:
            name = fields["name"].data.decode() if "name" in fields else fields["file"].filename
            dist = fields["dist"].data.decode() if "dist" in fields else None
        except UnicodeDecodeError as error:
            raise ApiError(400, "name and dist must be UTF-8") from error
        if not name:
            raise ApiError(400, "name is required")
        checksum = protocol.sha1_hex(data)
        new = NewFile(org_id, project_id, "release_file", checksum, name, version, dist)

        def save(conn: Connection) -> UploadedFile:
            if uploads.find_file(conn, new) is not None:
                raise ApiError(
                    409, "A file matching this name already exists for the given release"
                )
            now = time.time()
            uploads.save_chunks(conn, org_id, {checksum: data}, now)
            return uploads.add_file(conn, new, [checksum], len(data), now)

        stored = await self._access.write(save)
        return json_response(release_file_json(stored), 201)


def _finder(new: NewFile) -> Callable[[Connection], UploadedFile | None]:
    return lambda conn: uploads.find_file(conn, new)


def _checksum_and_chunks(payload: dict[str, Any]) -> tuple[str, list[str]]:
    checksum = payload.get("checksum")
    if not protocol.is_checksum(checksum):
        raise ApiError(400, "checksum must be a SHA-1 in hex")
    try:
        chunks = protocol.chunk_list(payload.get("chunks"))
    except UploadError as error:
        raise ApiError(400, str(error)) from error
    assert isinstance(checksum, str)
    return checksum, chunks


def _optional_text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"{key} must be a string")
    return value or None


def debug_file_json(f: UploadedFile) -> dict[str, Any]:
    return {
        "id": str(f.id),
        "uuid": f.debug_id,
        "debugId": f.debug_id,
        "objectName": f.name,
        "cpuName": "any",
        "sha1": f.checksum,
        "size": f.size,
        "dateCreated": iso(f.created_at),
        "symbolType": "unknown",
        "headers": {},
        "data": {"features": []},
    }


def release_file_json(f: UploadedFile) -> dict[str, Any]:
    return {
        "id": str(f.id),
        "name": f.name,
        "dist": f.dist,
        "headers": {},
        "size": f.size,
        "sha1": f.checksum,
        "dateCreated": iso(f.created_at),
    }

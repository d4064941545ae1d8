"""Releases as sentry-cli manages them, organisation- and project-level: create, update,
finalize, list, details, delete; their deploys and commits (Sentry's paths and shapes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.access import NOT_FOUND, ApiAccess
from vedette.api.http import ApiError, json_object, json_response
from vedette.api.serialize import iso
from vedette.domain import release_input
from vedette.domain.release_input import CommitInput, ReleaseInputError
from vedette.storage import accounts, commit_fixes, releases_meta
from vedette.storage.releases_meta import CommitRow, DeployRow, ReleaseFacts, ReleaseRow
from vedette.storage.tokens import TokenGrant

T = TypeVar("T")
_DATES = {"dateStarted": "date_started", "dateReleased": "date_released"}
_MAX_LIST = 1000


class ReleaseEndpoints:
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        o = "/api/0/organizations/{org}/releases"
        p = "/api/0/projects/{org}/{project}/releases"
        wrap = self._access.wrap
        one = ["GET", "PUT", "DELETE"]
        return [
            Route(f"{o}/", wrap(self.releases), methods=["GET", "POST"]),
            Route(f"{o}/{{version}}/", wrap(self.release), methods=one),
            Route(f"{o}/{{version}}/deploys/", wrap(self.deploys), methods=["GET", "POST"]),
            Route(f"{o}/{{version}}/commits/", wrap(self.commits)),
            Route(f"{o}/{{version}}/previous-with-commits/", wrap(self.previous_with_commits)),
            Route(f"{p}/", wrap(self.releases), methods=["POST"]),
            Route(f"{p}/{{version}}/", wrap(self.release), methods=one),
        ]

    async def _release(self, request: Request, org_id: int) -> ReleaseRow:
        version = request.path_params["version"]
        found = await self._access.read(lambda c: releases_meta.get_release(c, org_id, version))
        if found is None:
            raise ApiError(404, NOT_FOUND)
        return found

    async def releases(self, request: Request, grant: TokenGrant) -> Response:
        org_id, project_id = await self._access.scope(request, grant)
        if request.method == "POST":
            payload = await json_object(request)
            version = _checked(lambda: release_input.version(payload.get("version")))
            release, created = await self._save(org_id, project_id, version, payload)
            return json_response(await self._json(release), 201 if created else 208)
        query = request.query_params.get("query", "")
        slug = request.query_params.get("project")
        rows = await self._access.read(lambda c: _listed(c, org_id, slug, query))
        return json_response([await self._json(r) for r in rows])

    async def release(self, request: Request, grant: TokenGrant) -> Response:
        org_id, project_id = await self._access.scope(request, grant)
        release = await self._release(request, org_id)
        if request.method == "DELETE":
            await self._access.write(lambda c: releases_meta.delete_release(c, release.id))
            return Response(status_code=204)
        if request.method == "PUT":
            payload = await json_object(request)
            release, _ = await self._save(org_id, project_id, release.version, payload)
        return json_response(await self._json(release))

    async def deploys(self, request: Request, grant: TokenGrant) -> Response:
        org_id, _ = await self._access.scope(request, grant)
        release = await self._release(request, org_id)
        if request.method == "POST":
            payload = await json_object(request)
            environment, name, url = (payload.get(k) for k in ("environment", "name", "url"))
            if not isinstance(environment, str) or not 0 < len(environment) <= 64:
                raise ApiError(400, "environment must be a string of 1 to 64 characters")
            if not all(v is None or isinstance(v, str) for v in (name, url)):
                raise ApiError(400, "name and url must be strings")
            started = _checked(
                lambda: release_input.timestamp(payload.get("dateStarted"), "dateStarted")
            )
            finished = _checked(
                lambda: release_input.timestamp(payload.get("dateFinished"), "dateFinished")
            )
            deploy = await self._access.write(
                lambda c: releases_meta.add_deploy(
                    c, release.id, environment, name, url, started, finished or time.time()
                )
            )
            return json_response(deploy_json(deploy), 201)
        rows = await self._access.read(lambda c: releases_meta.deploys_of(c, release.id))
        return json_response([deploy_json(d) for d in rows])

    async def commits(self, request: Request, grant: TokenGrant) -> Response:
        org_id, _ = await self._access.scope(request, grant)
        release = await self._release(request, org_id)
        rows = await self._access.read(lambda c: releases_meta.commits_of(c, release.id))
        return json_response([commit_json(r) for r in rows])

    async def previous_with_commits(self, request: Request, grant: TokenGrant) -> Response:
        """The newest other release with commits (where ``set-commits --auto`` starts from)."""
        org_id, _ = await self._access.scope(request, grant)
        version = request.path_params["version"]
        found = await self._access.read(
            lambda c: releases_meta.previous_with_commits(c, org_id, version)
        )
        if found is None:
            return json_response({})
        body = await self._json(found)
        return json_response(body)

    async def _save(
        self, org_id: int, project_id: int | None, version: str, payload: dict[str, Any]
    ) -> tuple[ReleaseRow, bool]:
        fields = _fields(payload)
        commits = _commits(payload)
        slugs = payload.get("projects", [])
        if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs):
            raise ApiError(400, "projects must be a list of project slugs")

        def save(conn: Connection) -> tuple[ReleaseRow, bool]:
            known = {p.slug: p.id for p in accounts.list_projects(conn, [org_id])}
            missing = [s for s in slugs if s not in known]
            if missing:
                raise ApiError(400, f"Invalid project slugs: {', '.join(missing)}")
            ids = [known[s] for s in slugs] + ([] if project_id is None else [project_id])
            now = time.time()
            release, created = releases_meta.save_release(conn, org_id, version, ids, fields, now)
            if commits is not None:
                releases_meta.set_commits(conn, release, commits, now)
                commit_fixes.resolve_fixed(conn, org_id, release.version, commits, now)
            return release, created

        return await self._access.write(save)

    async def _json(self, release: ReleaseRow) -> dict[str, Any]:
        facts = await self._access.read(lambda c: releases_meta.release_facts(c, release))
        return release_json(release, facts)


def _checked(parse: Callable[[], T]) -> T:
    """``parse()``, its input errors answered as 400."""
    try:
        return parse()
    except ReleaseInputError as error:
        raise ApiError(400, str(error)) from error


def _fields(payload: dict[str, Any]) -> dict[str, object]:
    fields: dict[str, object] = {}
    for key in ("ref", "url"):
        if key in payload:
            value = payload[key]
            if value is not None and not isinstance(value, str):
                raise ApiError(400, f"{key} must be a string")
            fields[key] = value
    for key, column in _DATES.items():
        if key in payload:
            fields[column] = _checked(partial(release_input.timestamp, payload[key], key))
    return fields


def _commits(payload: dict[str, Any]) -> list[CommitInput] | None:
    """The release's commits from ``commits`` (``--local``, ``--auto``) or ``refs``
    (``--commit REPO@SHA``: the head commit of each repository); None: unchanged."""
    if payload.get("commits") is not None:
        return _checked(lambda: release_input.commits(payload["commits"]))
    if payload.get("refs") is not None:
        refs = _checked(lambda: release_input.refs(payload["refs"]))
        return [CommitInput(r.commit, r.repository, None, None, None, None) for r in refs]
    return None


def _listed(conn: Connection, org_id: int, slug: str | None, query: str) -> list[ReleaseRow]:
    project_id = None
    if slug:
        known = {p.slug: p.id for p in accounts.list_projects(conn, [org_id])}
        if slug not in known:
            return []
        project_id = known[slug]
    return releases_meta.list_releases(conn, org_id, project_id, query, _MAX_LIST)


def commit_json(commit: CommitRow) -> dict[str, Any]:
    return {
        "id": commit.sha,
        "message": commit.message,
        "dateCreated": iso(commit.date_created),
        "repository": None if commit.repository is None else {"name": commit.repository},
        "author": None
        if commit.author is None
        else {"name": commit.author.name, "email": commit.author.email},
    }


def deploy_json(deploy: DeployRow) -> dict[str, Any]:
    return {
        "id": str(deploy.id),
        "environment": deploy.environment,
        "name": deploy.name,
        "url": deploy.url,
        "dateStarted": iso(deploy.date_started),
        "dateFinished": iso(deploy.date_finished),
    }


def release_json(release: ReleaseRow, facts: ReleaseFacts) -> dict[str, Any]:
    last_deploy = facts.deploys[0] if facts.deploys else None
    return {
        "id": release.id,
        "version": release.version,
        "shortVersion": release.version,
        "ref": release.ref,
        "url": release.url,
        "status": "open",
        "dateCreated": iso(release.date_created),
        "dateStarted": iso(release.date_started),
        "dateReleased": iso(release.date_released),
        "firstEvent": iso(facts.first_event),
        "lastEvent": iso(facts.last_event),
        "newGroups": facts.new_groups,
        "commitCount": facts.commit_count,
        "lastCommit": None if facts.last_commit is None else commit_json(facts.last_commit),
        "authors": [{"name": a.name, "email": a.email} for a in facts.authors],
        "deployCount": len(facts.deploys),
        "lastDeploy": None if last_deploy is None else deploy_json(last_deploy),
        "projects": [
            {"id": p.id, "slug": p.slug, "name": p.name, "newGroups": facts.new_groups}
            for p in facts.projects
        ],
        "data": {},
        "owner": None,
    }

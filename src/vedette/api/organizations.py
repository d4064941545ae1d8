"""Who a token is (``GET /api/0/``, for ``sentry-cli info``), an organisation's projects and its
source repositories, in Sentry's paths and shapes."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, json_object, json_response
from vedette.api.serialize import iso
from vedette.storage import accounts, releases_meta
from vedette.storage.releases_meta import RepositoryRow
from vedette.storage.tokens import TokenGrant


class OrganizationEndpoints:
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        o = "/api/0/organizations/{org}"
        wrap = self._access.wrap
        return [
            Route("/api/0/", wrap(self.whoami)),
            Route(f"{o}/projects/", wrap(self.projects)),
            Route(f"{o}/repos/", wrap(self.repositories), methods=["GET", "POST"]),
        ]

    async def whoami(self, request: Request, grant: TokenGrant) -> Response:
        """The token's scopes and, for a user's token, its user (``sentry-cli info``)."""
        scopes = grant.scopes
        if grant.user is not None and grant.organization_id is not None:
            scopes = grant.scopes_in(grant.organization_id)
        user = None
        if grant.user is not None:
            email = grant.user.email
            user = {"id": str(grant.user.id), "email": email, "username": email, "name": email}
        return json_response({"version": "0", "auth": {"scopes": sorted(scopes)}, "user": user})

    async def projects(self, request: Request, grant: TokenGrant) -> Response:
        org_id = await self._access.organization(request, grant)
        listed = await self._access.read(lambda c: accounts.list_projects(c, [org_id]))
        rows = [p for p in listed if grant.may_see_project(org_id, p.id)]
        org = request.path_params["org"]
        return json_response(
            [
                {
                    "id": str(p.id),
                    "slug": p.slug,
                    "name": p.name,
                    "organization": {"id": str(org_id), "slug": org, "name": org},
                    "team": None,
                    "teams": [],
                    "platform": None,
                }
                for p in rows
            ]
        )

    async def repositories(self, request: Request, grant: TokenGrant) -> Response:
        """The repositories commits name; a POST adds one (``name``, optional ``provider`` and
        ``url``), which ``--commit REPO@SHA`` and ``set-commits --auto`` then find."""
        org_id = await self._access.organization(request, grant)
        if request.method == "POST":
            payload = await json_object(request)
            name, provider, url = (payload.get(k) for k in ("name", "provider", "url"))
            if not isinstance(name, str) or not 0 < len(name) <= 200:
                raise ApiError(400, "name must be a string of 1 to 200 characters")
            if not all(v is None or isinstance(v, str) for v in (provider, url)):
                raise ApiError(400, "provider and url must be strings")
            await self._access.write(
                lambda c: releases_meta.ensure_repository(
                    c, org_id, name, time.time(), provider, url
                )
            )
            rows = await self._access.read(lambda c: releases_meta.list_repositories(c, org_id))
            return json_response(next(repository_json(r) for r in rows if r.name == name), 201)
        rows = await self._access.read(lambda c: releases_meta.list_repositories(c, org_id))
        return json_response([repository_json(r) for r in rows])


def repository_json(repo: RepositoryRow) -> dict[str, Any]:
    provider = repo.provider or "integrations:custom"
    return {
        "id": str(repo.id),
        "name": repo.name,
        "url": repo.url,
        "provider": {"id": provider, "name": provider},
        "status": "active",
        "dateCreated": iso(repo.date_created),
        "externalSlug": repo.name,
    }

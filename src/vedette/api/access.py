"""What every JSON API endpoint shares: Bearer-token authentication, the scopes each route
needs (api/route_scopes.py), the organisation, project or issue of the path, and transactions
off the event loop."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.http import ApiError, json_response
from vedette.api.route_scopes import ROUTE_RESOURCES
from vedette.domain.scopes import Resource, needed_scopes
from vedette.storage import accounts, issue_redirects, queries, threaded, tokens
from vedette.storage.accounts import Project
from vedette.storage.database import Database
from vedette.storage.tokens import TokenGrant

T = TypeVar("T")

Handler = Callable[[Request, TokenGrant], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]
NOT_FOUND = "The requested resource does not exist"


def check_route_table(routes: Iterable[Route]) -> None:
    """Refuse to start when an API route is not in the scope table, or takes a method its
    resource has no scope for: a new route cannot escape the check."""
    for route in routes:
        if not route.path.startswith("/api/0/"):
            continue
        if route.path not in ROUTE_RESOURCES:
            raise RuntimeError(f"API route {route.path} is not in api/route_scopes.py")
        for method in route.methods or {"GET"}:
            needed_scopes(ROUTE_RESOURCES[route.path], method)


class ApiAccess:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await threaded.read(self.db, fn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        return await threaded.write(self.db, fn)

    def wrap(self, handler: Handler) -> Endpoint:
        """The endpoint: authenticated, holding a scope the route needs, errors as JSON."""

        async def endpoint(request: Request) -> Response:
            try:
                grant = await self.authenticate(request)
                return await handler(request, _for_route(request, grant))
            except ApiError as error:
                return json_response({"detail": error.detail}, error.status)

        return endpoint

    async def authenticate(self, request: Request) -> TokenGrant:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Authentication credentials were not provided.")
        grant = await self.read(lambda c: tokens.authenticate_token(c, token.strip()))
        if grant is None:
            raise ApiError(401, "Invalid token.")
        return grant

    async def organization(self, request: Request, grant: TokenGrant) -> int:
        """The id of the path's ``org``, once the grant may do the request there."""
        slug = request.path_params["org"]
        found = await self.read(lambda c: accounts.organization_id(c, slug))
        if found is None:
            raise ApiError(404, NOT_FOUND)
        authorize(grant, found)
        return found

    async def project(self, request: Request, grant: TokenGrant) -> Project:
        """The project of the path's ``org`` and ``project``, once the grant may do the request
        there."""
        org, slug = request.path_params["org"], request.path_params["project"]
        project = await self.read(lambda c: accounts.find_project(c, org, slug))
        if project is None:
            raise ApiError(404, NOT_FOUND)
        authorize(grant, project.organization_id, project.id)
        return project

    async def scope(self, request: Request, grant: TokenGrant) -> tuple[int, int | None]:
        """The organisation of the path and, on project paths, its project."""
        if "project" in request.path_params:
            project = await self.project(request, grant)
            return project.organization_id, project.id
        return await self.organization(request, grant), None

    async def issue(self, request: Request, grant: TokenGrant) -> tuple[int, Project]:
        """The issue id of the path and its project, once the grant may do the request there.
        A merged issue's id stands for the issue it went into (Sentry answers for that one)."""
        raw = request.path_params["issue_id"]
        if not raw.isdigit() or len(raw) > 18:
            raise ApiError(404, NOT_FOUND)

        def load(conn: Connection) -> tuple[int, Project] | None:
            issue_id = int(raw)
            project_id = queries.issue_project_id(conn, issue_id)
            if project_id is None and (parent := issue_redirects.follow(conn, issue_id)):
                issue_id, project_id = parent, queries.issue_project_id(conn, parent)
            project = None if project_id is None else accounts.get_project(conn, project_id)
            return None if project is None else (issue_id, project)

        found = await self.read(load)
        if found is None:
            raise ApiError(404, NOT_FOUND)
        authorize(grant, found[1].organization_id, found[1].id)
        return found


def authorize(grant: TokenGrant, organization_id: int, project_id: int | None = None) -> None:
    """404 when the token may not see the organisation (or project): its existence is not told;
    403 when it sees it but lacks every scope the request needs there."""
    visible = (
        grant.may_read(organization_id)
        if project_id is None
        else grant.may_see_project(organization_id, project_id)
    )
    if not visible:
        raise ApiError(404, NOT_FOUND)
    if not grant.allows(organization_id):
        raise ApiError(403, _lacking(grant))


def _lacking(grant: TokenGrant) -> str:
    return "This token needs one of these scopes here: " + ", ".join(sorted(grant.needed))


def _for_route(request: Request, grant: TokenGrant) -> TokenGrant:
    """The grant with the scopes the matched route needs; 403 when the token holds none of them
    at all (a user's token is further bounded by the role, once the organisation is known)."""
    route = request.scope["route"]
    resource = ROUTE_RESOURCES[route.path]
    if resource == Resource.OPERATOR and not grant.is_operator:
        raise ApiError(403, "operator token required")
    needed = needed_scopes(resource, request.method)
    granted = dataclasses.replace(grant, needed=needed)
    if needed and not needed & grant.scopes:
        raise ApiError(403, _lacking(granted))
    return granted

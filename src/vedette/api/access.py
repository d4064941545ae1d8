"""What every JSON API endpoint shares: Bearer-token authentication, the project of the path
and transactions off the event loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from vedette.api.http import ApiError, json_response
from vedette.storage import accounts, threaded
from vedette.storage.accounts import Project, TokenGrant
from vedette.storage.database import Database

T = TypeVar("T")

Handler = Callable[[Request, TokenGrant], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


class ApiAccess:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await threaded.read(self.db, fn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        return await threaded.write(self.db, fn)

    def wrap(self, handler: Handler) -> Endpoint:
        """The endpoint: authenticated, read-only tokens limited to GET, errors as JSON."""

        async def endpoint(request: Request) -> Response:
            try:
                grant = await self.authenticate(request)
                if grant.read_only and request.method not in ("GET", "HEAD"):
                    raise ApiError(403, "this token is read-only")
                return await handler(request, grant)
            except ApiError as error:
                return json_response({"detail": error.detail}, error.status)

        return endpoint

    async def authenticate(self, request: Request) -> TokenGrant:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Authentication credentials were not provided.")
        grant = await self.read(lambda c: accounts.authenticate_token(c, token.strip()))
        if grant is None:
            raise ApiError(401, "Invalid token.")
        return grant

    async def project(self, request: Request, grant: TokenGrant) -> Project:
        """The project of the path's ``org`` and ``project``, if the grant may read it."""
        org, slug = request.path_params["org"], request.path_params["project"]
        project = await self.read(lambda c: accounts.find_project(c, org, slug))
        if project is None or not grant.may_read(project.organization_id):
            raise ApiError(404, "The requested resource does not exist")
        return project

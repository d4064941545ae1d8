"""An issue's grouping hashes and unmerging them, in Sentry's paths and shapes:
``GET /api/0/issues/{id}/hashes/`` lists the hashes its events were grouped by, each with its
latest event; ``PUT ...?id=HASH&id=HASH`` moves those hashes' events, and the hashes, to a new
issue (storage/unmerge.py). Sentry answers the PUT with 202 and unmerges in the background;
here it is done when the answer comes, which names the new issue."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api import serialize
from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, json_response
from vedette.processing.titles import summarize
from vedette.storage import queries, unmerge
from vedette.storage.tokens import TokenGrant
from vedette.storage.unmerge import UnmergeError, UnmergeResult

MAX_HASH_CHARS = 32  # events.grouping_hash


def hash_json(found: unmerge.IssueHash, latest: queries.StoredEvent | None) -> dict[str, Any]:
    return {
        "id": found.hash,
        "latestEvent": None if latest is None else serialize.event_summary_json(latest),
    }


def hashes_param(request: Request) -> list[str]:
    """The ``id`` parameters: the hashes to unmerge."""
    hashes = request.query_params.getlist("id")
    if not hashes or len(hashes) > unmerge.MAX_UNMERGE:
        raise ApiError(400, f"name the hashes to unmerge: 1 to {unmerge.MAX_UNMERGE} id parameters")
    if not all(0 < len(h) <= MAX_HASH_CHARS for h in hashes):
        raise ApiError(400, "id must be a grouping hash of the issue")
    return hashes


class IssueHashEndpoints:
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        return [
            Route(
                "/api/0/issues/{issue_id}/hashes/",
                self._access.wrap(self.hashes),
                methods=["GET", "PUT"],
            )
        ]

    async def hashes(self, request: Request, grant: TokenGrant) -> Response:
        issue_id, project = await self._access.issue(request, grant)
        if request.method == "PUT":
            return await self._unmerge(request, grant, issue_id)

        def load(
            conn: Connection,
        ) -> list[tuple[unmerge.IssueHash, queries.StoredEvent | None]]:
            return [
                (h, queries.get_event(conn, project.id, h.latest_event_id))
                for h in unmerge.issue_hashes(conn, issue_id)
            ]

        found = await self._access.read(load)
        return json_response([hash_json(h, latest) for h, latest in found])

    async def _unmerge(self, request: Request, grant: TokenGrant, issue_id: int) -> Response:
        hashes = hashes_param(request)
        user_id = grant.user.id if grant.user is not None else None

        def apply(conn: Connection) -> UnmergeResult:
            return unmerge.unmerge(conn, issue_id, hashes, user_id, time.time(), summarize)

        try:
            result = await self._access.write(apply)
        except UnmergeError as exc:
            raise ApiError(400, str(exc)) from exc
        return json_response(
            {
                "source": str(result.source),
                "destination": str(result.destination),
                "events": result.events,
            },
            202,
        )

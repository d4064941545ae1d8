"""``GET /api/0/projects/{org}/{project}/events/{event_id}/committers/``: the event's suspect
commits grouped by author, in Sentry's shape (docs/releases.md, "Commits and issues")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, json_response
from vedette.api.releases import commit_json
from vedette.domain.envelope import normalize_event_id
from vedette.storage import queries, suspect_commits
from vedette.storage.releases_meta import CommitRow
from vedette.storage.tokens import TokenGrant


def committers_json(found: list[tuple[CommitRow, tuple[str, ...]]]) -> list[dict[str, Any]]:
    """One entry per author (in the order of their best commit), each with their commits."""
    by_author: dict[str, dict[str, Any]] = {}
    for commit, files in found:
        author = commit_json(commit)["author"]
        key = author["email"] if author else ""
        entry = by_author.setdefault(key, {"author": author, "commits": []})
        entry["commits"].append(
            {**commit_json(commit), "suspectCommitType": "via commit in release", "files": files}
        )
    return list(by_author.values())


class SuspectEndpoints:
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        return [
            Route(
                "/api/0/projects/{org}/{project}/events/{event_id}/committers/",
                self._access.wrap(self.committers),
            )
        ]

    async def committers(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        event_id = normalize_event_id(request.path_params["event_id"])

        def load(conn: Connection) -> list[tuple[CommitRow, tuple[str, ...]]] | None:
            event = None if event_id is None else queries.get_event(conn, project.id, event_id)
            if event is None:
                return None
            return suspect_commits.event_suspects(conn, project.organization_id, event.data)

        found = await self._access.read(load)
        if found is None:
            raise ApiError(404, "Event not found")
        return json_response({"committers": committers_json(found)})

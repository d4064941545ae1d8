"""The JSON web API (``/api/0/...``), Sentry's paths and field names, Bearer-token auth."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeGuard, TypeVar

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.alerts.evaluate import AlertSettings
from vedette.api import issue_workflow, serialize
from vedette.api.access import ApiAccess, check_route_table
from vedette.api.alerts import AlertEndpoints
from vedette.api.audit_logs import AuditLogEndpoints
from vedette.api.feedback import FeedbackEndpoints
from vedette.api.http import ApiError, json_object, json_response
from vedette.api.issue_hashes import IssueHashEndpoints
from vedette.api.issue_workflow import IssueWorkflowEndpoints
from vedette.api.logs import LogEndpoints
from vedette.api.organizations import OrganizationEndpoints
from vedette.api.performance import PerformanceEndpoints
from vedette.api.profiles import ProfileEndpoints
from vedette.api.project_settings import ProjectSettingsEndpoints
from vedette.api.releases import ReleaseEndpoints
from vedette.api.suspects import SuspectEndpoints
from vedette.api.uploads import UploadEndpoints
from vedette.api.uptime import UptimeEndpoints
from vedette.domain.envelope import normalize_event_id
from vedette.domain.search import for_viewer, parse_search
from vedette.storage import accounts, assignment, audit, queries
from vedette.storage.accounts import Project
from vedette.storage.assignment import Assignee
from vedette.storage.audit import AuditEvent
from vedette.storage.database import Database
from vedette.storage.spool_store import SpoolStats
from vedette.storage.tokens import TokenGrant

T = TypeVar("T")


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if not raw:  # sentry-cli sends an empty ``cursor=`` for the first page
        return default
    if not raw.isdigit():
        raise ApiError(400, f"{name} must be a non-negative integer")
    return min(int(raw), maximum)


class Api:
    def __init__(
        self,
        db: Database,
        spool_stats: Callable[[], SpoolStats],
        base_url: str,
        on_key_change: Callable[[str], None],
        alerts: AlertSettings | None = None,
    ) -> None:
        self._access = ApiAccess(db)
        self._alerts = alerts or AlertSettings(base_url)
        self._spool_stats = spool_stats
        self._base_url = base_url
        self._on_key_change = on_key_change

    def routes(self) -> list[Route]:
        p = "/api/0/projects/{org}/{project}"
        wrap = self._access.wrap
        routes = [
            Route(f"{p}/issues/", wrap(self.project_issues)),
            Route(f"{p}/events/", wrap(self.project_events)),
            Route(f"{p}/events/{{event_id}}/", wrap(self.project_event)),
            Route(f"{p}/events/{{event_id}}/attachments/", wrap(self.event_attachments)),
            Route(f"{p}/stats/", wrap(self.project_stats)),
            Route(f"{p}/keys/", wrap(self.project_keys), methods=["GET"]),
            Route(f"{p}/keys/", wrap(self.create_project_key), methods=["POST"]),
            Route(f"{p}/keys/{{key}}/", wrap(self.project_key), methods=["PUT", "DELETE"]),
            Route("/api/0/issues/{issue_id}/", wrap(self.issue), methods=["GET", "PUT"]),
            Route("/api/0/issues/{issue_id}/events/", wrap(self.issue_events)),
            Route("/api/0/issues/{issue_id}/events/{which:str}/", wrap(self.issue_event)),
            Route("/api/0/internal/spool/", wrap(self.spool_stats)),
            *PerformanceEndpoints(self._access).routes(),
            *AlertEndpoints(self._access, self._base_url).routes(),
            *UptimeEndpoints(self._access).routes(),
            *LogEndpoints(self._access).routes(),
            *FeedbackEndpoints(self._access, self._alerts).routes(),
            *ProjectSettingsEndpoints(self._access).routes(),
            *OrganizationEndpoints(self._access).routes(),
            *ReleaseEndpoints(self._access).routes(),
            *SuspectEndpoints(self._access).routes(),
            *AuditLogEndpoints(self._access).routes(),
            *UploadEndpoints(self._access).routes(),
            *IssueWorkflowEndpoints(self._access, self._base_url).routes(),
            *IssueHashEndpoints(self._access).routes(),
            *ProfileEndpoints(self._access).routes(),
        ]
        check_route_table(routes)
        return routes

    async def project_issues(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        # A token is no user: assigned:me is a 400 (domain.search.NO_VIEWER).
        search = for_viewer(parse_search(request.query_params.get("query", "is:unresolved")), None)
        if search.problems:
            raise ApiError(400, "; ".join(search.problems))
        sort = request.query_params.get("sort", "date")
        limit = _int_param(request, "limit", 25, 100)
        offset = _int_param(request, "cursor", 0, 10**9)

        def load(conn: Connection) -> tuple[list[queries.IssueRow], dict[int, Assignee]]:
            found = queries.search_issues(conn, project.id, search, sort, limit, offset)
            return found, assignment.assignees_of(conn, [i.id for i in found])

        issues, owners = await self._access.read(load)
        return json_response([serialize.issue_json(i, project, owners.get(i.id)) for i in issues])

    async def issue(self, request: Request, grant: TokenGrant) -> Response:
        """One issue with its tags; a PUT changes its status and assignee first (see
        api/issue_workflow.py). Users are counted once."""
        issue_id, project = await self._access.issue(request, grant)
        if request.method == "PUT":
            now = time.time()
            update = issue_workflow.parse_update(await json_object(request), now)
            if update.merge:
                raise ApiError(400, "merge issues with the project's bulk update")
            await self._access.write(
                lambda c: issue_workflow.apply_update(
                    c, project, [issue_id], update, now, self._base_url
                )
            )

        def load(
            conn: Connection,
        ) -> tuple[queries.IssueRow, list[queries.TagSummary], Assignee | None] | None:
            issue = queries.get_issue(conn, issue_id)
            if issue is None:
                return None
            owner = assignment.assignees_of(conn, [issue_id]).get(issue_id)
            return issue, queries.issue_tags(conn, issue_id), owner

        found = await self._access.read(load)
        if found is None:
            raise ApiError(404, "The requested resource does not exist")
        body = serialize.issue_json(found[0], project, found[2])
        body["tags"] = serialize.tags_json(found[1])
        return json_response(body)

    async def issue_events(self, request: Request, grant: TokenGrant) -> Response:
        issue_id, _ = await self._access.issue(request, grant)
        limit = _int_param(request, "limit", 50, 100)
        offset = _int_param(request, "cursor", 0, 10**9)
        found = await self._access.read(lambda c: queries.issue_events(c, issue_id, limit, offset))
        return json_response([serialize.event_summary_json(e) for e in found])

    async def issue_event(self, request: Request, grant: TokenGrant) -> Response:
        issue_id, _ = await self._access.issue(request, grant)
        which = request.path_params["which"]
        if which not in ("latest", "oldest"):
            raise ApiError(404, "The requested resource does not exist")

        def pick(conn: Connection) -> queries.StoredEvent | None:
            found = queries.issue_events(conn, issue_id, limit=1, oldest_first=which == "oldest")
            return found[0] if found else None

        event = await self._access.read(pick)
        if event is None:
            raise ApiError(404, "The requested resource does not exist")
        return json_response(serialize.event_json(event))

    async def project_events(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        event_type = request.query_params.get("type")
        limit = _int_param(request, "limit", 100, 1000)
        offset = _int_param(request, "cursor", 0, 10**9)
        found = await self._access.read(
            lambda c: queries.project_events(c, project.id, event_type, limit, offset)
        )
        return json_response([serialize.event_summary_json(e) for e in found])

    async def _event(self, request: Request, project: Project) -> queries.StoredEvent:
        event_id = normalize_event_id(request.path_params["event_id"])
        event = (
            None
            if event_id is None
            else await self._access.read(lambda c: queries.get_event(c, project.id, event_id))
        )
        if event is None:
            raise ApiError(404, "Event not found")
        return event

    async def project_event(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        event = await self._event(request, project)
        return json_response(serialize.event_json(event))

    async def event_attachments(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        event = await self._event(request, project)
        rows = await self._access.read(
            lambda c: queries.event_attachments(c, project.id, event.event_id)
        )
        return json_response([serialize.attachment_json(r) for r in rows])

    async def project_stats(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        totals = await self._access.read(lambda c: queries.outcome_totals(c, project.id))
        return json_response(totals)

    async def project_keys(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        rows = await self._access.read(lambda c: accounts.keys_of_project(c, project.id))
        return json_response([serialize.key_json(k, project, self._base_url) for k in rows])

    async def create_project_key(self, request: Request, grant: TokenGrant) -> Response:
        """A new DSN key (key rotation: create, move clients over, then disable the old)."""
        project = await self._access.project(request, grant)
        payload = await json_object(request)
        name = _key_name(payload.get("name", "Default"))

        def create(conn: Connection) -> accounts.ProjectKeyRow:
            public_key = accounts.create_key(conn, project.id, name)
            audit.record(conn, project.organization_id, audit.API_TOKEN, AuditEvent.KEY_ADD,
                         f"{project.slug}: {public_key} ({name})", time.time())  # fmt: skip
            return next(k for k in accounts.keys_of_project(conn, project.id)
                        if k.public_key == public_key)  # fmt: skip

        row = await self._access.write(create)
        return json_response(serialize.key_json(row, project, self._base_url), 201)

    async def project_key(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        public_key = request.path_params["key"]
        if request.method == "DELETE":

            def remove(conn: Connection) -> bool:
                done = accounts.delete_key(conn, project.id, public_key)
                if done:
                    audit.record(conn, project.organization_id, audit.API_TOKEN,
                                 AuditEvent.KEY_REMOVE, f"{project.slug}: {public_key}",
                                 time.time())  # fmt: skip
                return done

            found = await self._access.write(remove)
            self._on_key_change(public_key)
            if not found:
                raise ApiError(404, "The requested resource does not exist")
            return Response(status_code=204)
        values = _key_changes(await json_object(request))

        def apply(conn: Connection) -> list[accounts.ProjectKeyRow]:
            if accounts.update_key(conn, project.id, public_key, **values):
                target = f"{project.slug}: {public_key}"
                audit.record(conn, project.organization_id, audit.API_TOKEN, AuditEvent.KEY_EDIT,
                             target, time.time(), dict(values))  # fmt: skip
            return accounts.keys_of_project(conn, project.id)

        rows = await self._access.write(apply)
        self._on_key_change(public_key)
        match = [k for k in rows if k.public_key == public_key]
        if not match:
            raise ApiError(404, "The requested resource does not exist")
        return json_response(serialize.key_json(match[0], project, self._base_url))

    async def spool_stats(self, request: Request, grant: TokenGrant) -> Response:
        stats = await run_in_threadpool(self._spool_stats)
        return json_response(
            {
                "depth": stats.depth,
                "oldestReceivedAt": serialize.iso(stats.oldest_received_at),
                "deadLetters": stats.dead_letters,
            }
        )


def _key_changes(payload: dict[str, Any]) -> dict[str, object]:
    """Columns to set from a key update in Sentry's shape: ``isActive``, ``name`` and
    ``rateLimit`` (``{"window": seconds, "count": events}``, or null for no limit)."""
    values: dict[str, object] = {}
    if "isActive" in payload:
        if not isinstance(payload["isActive"], bool):
            raise ApiError(400, "isActive must be a boolean")
        values["is_active"] = payload["isActive"]
    if "name" in payload:
        values["label"] = _key_name(payload["name"])
    if "rateLimit" in payload:
        values.update(accounts.RateLimit.columns(_rate_limit(payload["rateLimit"])))
    if not values:
        raise ApiError(400, "nothing to change: send isActive, name or rateLimit")
    return values


def _rate_limit(value: object) -> accounts.RateLimit | None:
    if value is None:
        return None
    count = value.get("count") if isinstance(value, dict) else None
    window = value.get("window") if isinstance(value, dict) else None
    try:
        if _is_int(count) and _is_int(window):
            return accounts.RateLimit(count, window)
    except ValueError:
        pass
    raise ApiError(400, "rateLimit needs integer count >= 1 and window 1..86400 s")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _key_name(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        raise ApiError(400, "name must be a string of 1 to 200 characters")
    return value

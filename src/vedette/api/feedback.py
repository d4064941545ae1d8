"""User feedback in Sentry's shape (docs/logs.md, "User feedback").

- ``GET {project}/user-feedback/``: feedback from every source, newest first (``limit``,
  ``cursor`` as an offset), each with the issue of its event once that event is stored;
- ``POST {project}/user-feedback/`` ``{event_id, name, email, comments}`` (Bearer token);
- ``POST /api/embed/error-page/?dsn=...&eventId=...`` with a form of ``name``, ``email`` and
  ``comments``: what Sentry's crash-report page posts, authenticated by the DSN's public key.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.alerts import feedback_alerts
from vedette.alerts.evaluate import AlertSettings
from vedette.api import serialize
from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, bounded_body, json_object, json_response
from vedette.domain.feedback import InvalidFeedback, user_report
from vedette.domain.processed import UserFeedback
from vedette.storage import accounts, feedback, queries
from vedette.storage.accounts import Project
from vedette.storage.tokens import TokenGrant

MAX_LIMIT = 100
MAX_FORM_BYTES = 64 * 1024


def feedback_json(found: feedback.StoredFeedback, issue: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": str(found.id),
        "eventID": found.event_id,
        "name": found.name,
        "email": found.email,
        "comments": found.comments,
        "dateCreated": serialize.iso(found.timestamp),
        "issue": issue,
        "user": None,
        "event": {"id": found.event_id, "eventID": found.event_id} if found.event_id else None,
        "source": found.source,
        "url": found.url,
        "release": found.release,
        "environment": found.environment,
    }


def with_issues(
    conn: Connection, rows: list[feedback.StoredFeedback], project: Project
) -> list[dict[str, Any]]:
    """Each row with its issue, every issue read once."""
    issues: dict[int, dict[str, Any] | None] = {}
    for group_id in {r.group_id for r in rows if r.group_id is not None}:
        row = queries.get_issue(conn, group_id)
        issues[group_id] = None if row is None else serialize.issue_json(row, project)
    return [feedback_json(r, issues.get(r.group_id) if r.group_id else None) for r in rows]


def _offset(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isdigit():
        raise ApiError(400, "cursor must be a non-negative integer")
    return int(raw)


class FeedbackEndpoints:
    def __init__(self, access: ApiAccess, alerts: AlertSettings) -> None:
        self._access = access
        self._alerts = alerts

    def _store(
        self, conn: Connection, project_id: int, report: UserFeedback
    ) -> feedback.StoredFeedback:
        """Store the report and fire the project's feedback rules, in one transaction."""
        stored = feedback.add_feedback(conn, project_id, report)
        feedback_alerts.feedback_stored(conn, [(project_id, report)], time.time(), self._alerts)
        return stored

    def routes(self) -> list[Route]:
        return [
            Route(
                "/api/0/projects/{org}/{project}/user-feedback/",
                self._access.wrap(self.user_feedback),
                methods=["GET", "POST"],
            ),
            Route("/api/embed/error-page/", self.error_page, methods=["POST", "OPTIONS"]),
        ]

    async def user_feedback(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        if request.method == "POST":
            return await self._create(request, project, "api")
        limit = min(_offset(request.query_params.get("limit")) or MAX_LIMIT, MAX_LIMIT)
        offset = _offset(request.query_params.get("cursor"))

        def load(conn: Connection) -> list[dict[str, Any]]:
            rows = feedback.list_feedback(conn, project.id, limit, offset)
            return with_issues(conn, rows, project)

        return json_response(await self._access.read(load))

    async def _create(self, request: Request, project: Project, source: str) -> Response:
        payload = await json_object(request)
        try:
            report = user_report(payload, time.time(), source)
        except InvalidFeedback as problem:
            raise ApiError(400, str(problem)) from problem

        def store(conn: Connection) -> dict[str, Any]:
            return with_issues(conn, [self._store(conn, project.id, report)], project)[0]

        return json_response(await self._access.write(store))

    async def error_page(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _cors(
                Response(status_code=204, headers={"Access-Control-Allow-Methods": "POST"})
            )
        try:
            project_id = await self._dsn_project(request.query_params.get("dsn", ""))
            body = await bounded_body(request, MAX_FORM_BYTES)
            form = dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
            form["event_id"] = request.query_params.get("eventId", "")
            report = user_report(form, time.time(), "error_page")
        except InvalidFeedback as problem:
            return _cors(json_response({"detail": str(problem)}, 400))
        except ApiError as error:
            return _cors(json_response({"detail": error.detail}, error.status))
        await self._access.write(lambda c: self._store(c, project_id, report))
        return _cors(json_response({}))

    async def _dsn_project(self, raw: str) -> int:
        """The project of a DSN whose key is active, else 403."""
        parts = urlsplit(raw)
        project_id = parts.path.rstrip("/").rpartition("/")[2]
        key = await self._access.read(lambda c: accounts.key_info(c, parts.username or ""))
        if key is None or not key.is_active or str(key.project_id) != project_id:
            raise ApiError(403, "the DSN is unknown or disabled")
        return key.project_id


def _cors(response: Response) -> Response:
    """Crash-report pages post from the application's own origin."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

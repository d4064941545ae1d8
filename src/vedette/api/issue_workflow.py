"""Working on issues together, in Sentry's paths and shapes: teams, the issue update (status,
``assignedTo``) for one issue or in bulk, merging, comments and the activity stream.

An API token stands for no user: what it does is recorded with ``"user": null``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api import serialize
from vedette.api.access import NOT_FOUND, ApiAccess
from vedette.api.http import ApiError, json_object, json_response
from vedette.api.issue_changes import TOKEN, ChangeError, assign, issues_of_project, set_status
from vedette.api.snooze_input import snooze_from_details
from vedette.domain.assignment import AssigneeError, AssigneeRef, parse_assignee
from vedette.domain.events import IssueStatus
from vedette.domain.issue_activity import ActivityType, note_text
from vedette.storage import issue_activity, teams
from vedette.storage.accounts import Project
from vedette.storage.issue_activity import ActivityRow, NewActivity
from vedette.storage.merge import MergeError, merge_issues
from vedette.storage.snoozes import Snooze
from vedette.storage.tokens import TokenGrant

STATUSES = {
    "resolved": IssueStatus.RESOLVED,
    "resolvedInNextRelease": IssueStatus.RESOLVED_IN_NEXT_RELEASE,
    "unresolved": IssueStatus.UNRESOLVED,
    "ignored": IssueStatus.IGNORED,
}
MAX_BULK = 100


@dataclass(frozen=True, slots=True)
class IssueUpdate:
    """What an issue PUT asks for; ``assign`` says whether ``assignedTo`` was given at all."""

    status: IssueStatus | None = None
    snooze: Snooze = field(default_factory=Snooze)
    assign: bool = False
    assignee: AssigneeRef | None = None
    merge: bool = False


def parse_update(payload: dict[str, Any], now: float) -> IssueUpdate:
    merge = payload.get("merge") in (1, True, "1")
    status = None
    if "status" in payload:
        requested = payload["status"]
        status = STATUSES.get(requested) if isinstance(requested, str) else None
        if status is None:
            raise ApiError(400, f"status must be one of {sorted(STATUSES)}")
    try:
        assignee = parse_assignee(payload.get("assignedTo"))
    except AssigneeError as exc:
        raise ApiError(400, str(exc)) from exc
    update = IssueUpdate(
        status,
        snooze_from_details(payload.get("statusDetails"), now),
        "assignedTo" in payload,
        assignee,
        merge,
    )
    if merge and (status is not None or update.assign):
        raise ApiError(400, "merge cannot be combined with other changes")
    if not merge and status is None and not update.assign:
        raise ApiError(400, "nothing to change: send status, assignedTo or merge")
    return update


def apply_update(
    conn: Connection,
    project: Project,
    issue_ids: list[int],
    update: IssueUpdate,
    now: float,
    base_url: str,
) -> dict[str, Any]:
    """Status then assignee of the issues (on behalf of a token); what changed, as Sentry's bulk
    update answers."""
    body: dict[str, Any] = {}
    if update.status is not None:
        for issue_id in issue_ids:
            set_status(conn, issue_id, project.id, update.status, update.snooze, TOKEN, now)
        in_next = update.status == IssueStatus.RESOLVED_IN_NEXT_RELEASE
        body["status"] = "resolved" if in_next else update.status.value
        body["statusDetails"] = {"inNextRelease": True} if in_next else {}
    if update.assign:
        try:
            assignee = assign(conn, project.organization_id, project.id, issue_ids,
                              update.assignee, TOKEN, now, base_url)  # fmt: skip
        except ChangeError as exc:
            raise ApiError(400, str(exc)) from exc
        body["assignedTo"] = serialize.assignee_json(assignee)
    return body


def user_json(user_id: int | None, email: str | None) -> dict[str, Any] | None:
    if user_id is None or email is None:
        return None
    return {"id": str(user_id), "name": email, "username": email, "email": email}


def activity_json(row: ActivityRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "type": row.type,
        "data": row.data,
        "user": user_json(row.user_id, row.user_email),
        "dateCreated": serialize.iso(row.created_at),
    }


def team_json(team: teams.TeamRow) -> dict[str, Any]:
    return {
        "id": str(team.id),
        "slug": team.slug,
        "name": team.name,
        "dateCreated": serialize.iso(team.created_at),
        "isMember": False,  # a token is no one
        "memberCount": len(team.member_emails),
        "members": list(team.member_emails),
    }


class IssueWorkflowEndpoints:
    def __init__(self, access: ApiAccess, base_url: str) -> None:
        self._access = access
        self._base_url = base_url

    def routes(self) -> list[Route]:
        wrap = self._access.wrap
        issue = "/api/0/issues/{issue_id}"
        return [
            Route("/api/0/organizations/{org}/teams/", wrap(self.teams), methods=["GET", "POST"]),
            Route(
                "/api/0/projects/{org}/{project}/issues/", wrap(self.bulk_update), methods=["PUT"]
            ),
            Route(f"{issue}/comments/", wrap(self.comments), methods=["GET", "POST"]),
            Route(f"{issue}/comments/{{note_id}}/", wrap(self.comment), methods=["PUT", "DELETE"]),
            Route(f"{issue}/activities/", wrap(self.activities)),
        ]

    async def teams(self, request: Request, grant: TokenGrant) -> Response:
        org_id = await self._access.organization(request, grant)
        if request.method == "GET":
            rows = await self._access.read(lambda c: teams.list_teams(c, org_id))
            return json_response([team_json(t) for t in rows])
        payload = await json_object(request)
        slug, name, members = payload.get("slug"), payload.get("name"), payload.get("members", [])
        if not isinstance(slug, str):
            raise ApiError(400, "slug is required")
        name = name if name is not None else slug
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ApiError(400, "members must be a list of emails")
        if not isinstance(name, str):
            raise ApiError(400, "name must be a string")
        try:
            team = await self._access.write(
                lambda c: teams.create_team(c, org_id, slug, name, members, time.time())
            )
        except teams.TeamError as exc:
            raise ApiError(409 if "exists" in str(exc) else 400, str(exc)) from exc
        return json_response(team_json(team), 201)

    async def bulk_update(self, request: Request, grant: TokenGrant) -> Response:
        """Sentry's bulk update: ``?id=1&id=2`` with a status, an ``assignedTo`` or a merge."""
        project = await self._access.project(request, grant)
        raw_ids = request.query_params.getlist("id")
        if not raw_ids or len(raw_ids) > MAX_BULK:
            raise ApiError(400, f"name the issues: 1 to {MAX_BULK} id parameters")
        if not all(i.isdigit() and len(i) < 19 for i in raw_ids):
            raise ApiError(400, "id must be an issue id")
        ids = list(dict.fromkeys(int(i) for i in raw_ids))
        now = time.time()
        update = parse_update(await json_object(request), now)

        def apply(conn: Connection) -> dict[str, Any]:
            found = issues_of_project(conn, project.id, ids)
            if not found:
                raise ApiError(404, NOT_FOUND)
            if not update.merge:
                return apply_update(conn, project, found, update, now, self._base_url)
            try:
                merged = merge_issues(conn, project.id, found, None, now)
            except MergeError as exc:
                raise ApiError(400, str(exc)) from exc
            return {
                "merge": {
                    "parent": str(merged.parent),
                    "children": [str(c) for c in merged.children],
                }
            }

        return json_response(await self._access.write(apply))

    async def comments(self, request: Request, grant: TokenGrant) -> Response:
        issue_id, project = await self._access.issue(request, grant)
        if request.method == "GET":
            rows = await self._access.read(
                lambda c: issue_activity.issue_activity(c, issue_id, [ActivityType.NOTE.value])
            )
            return json_response([activity_json(r) for r in rows])
        text = _text(await json_object(request))
        author = grant.user.id if grant.user is not None else None
        note = NewActivity(issue_id, project.id, ActivityType.NOTE, author, {"text": text})

        def add(conn: Connection) -> ActivityRow | None:
            [note_id] = issue_activity.record(conn, [note], time.time())
            return issue_activity.get_note(conn, issue_id, note_id)

        row = await self._access.write(add)
        assert row is not None  # written just now, in this transaction
        return json_response(activity_json(row), 201)

    async def comment(self, request: Request, grant: TokenGrant) -> Response:
        """Edit or delete a comment: a user's token changes its user's comments, a token of
        no user (operator or organisation) the comments written with such tokens."""
        issue_id, _ = await self._access.issue(request, grant)
        raw = request.path_params["note_id"]
        note_id = int(raw) if raw.isdigit() and len(raw) < 19 else -1
        text = _text(await json_object(request)) if request.method == "PUT" else None

        def change(conn: Connection) -> ActivityRow | None:
            note = issue_activity.get_note(conn, issue_id, note_id)
            if note is None:
                raise ApiError(404, NOT_FOUND)
            if note.user_id != (grant.user.id if grant.user is not None else None):
                raise ApiError(403, "a comment can only be changed by its author")
            if text is None:
                issue_activity.delete_note(conn, note_id)
                return None
            issue_activity.edit_note(conn, note_id, text)
            return issue_activity.get_note(conn, issue_id, note_id)

        row = await self._access.write(change)
        return Response(status_code=204) if row is None else json_response(activity_json(row))

    async def activities(self, request: Request, grant: TokenGrant) -> Response:
        issue_id, _ = await self._access.issue(request, grant)
        rows = await self._access.read(lambda c: issue_activity.issue_activity(c, issue_id))
        return json_response({"activity": [activity_json(r) for r in rows]})


def _text(payload: dict[str, Any]) -> str:
    try:
        return note_text(payload.get("text"))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc

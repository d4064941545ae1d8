"""The issue page's assignee picker, comments and activity stream, bulk assignment from the
issue list, an issue's grouping hashes page with its unmerge form, and the way from a merged
issue's page to the issue it went into. Changes go through ``api.issue_changes`` (the API's
own) and ``storage.unmerge``, as the signed-in user."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy import Connection
from starlette.responses import RedirectResponse, Response

from vedette.api.issue_changes import Actor, ChangeError, assign, issues_of_project
from vedette.domain.assignment import AssigneeError, parse_assignee
from vedette.domain.issue_activity import ActivityType, note_text
from vedette.domain.short_ids import short_id
from vedette.processing.titles import summarize
from vedette.storage import assignment, issue_activity, issue_redirects, queries, teams, unmerge
from vedette.storage.accounts import Project
from vedette.storage.assignment import Assignee
from vedette.storage.issue_activity import ActivityRow, NewActivity
from vedette.web import markdown
from vedette.web.core import Page, WebCore, WebError
from vedette.web.format import project_base
from vedette.web.security import local_path

# What Vedette itself records (no one did it).
_BY_VEDETTE = {ActivityType.FIRST_SEEN.value, ActivityType.SET_REGRESSION.value}
_BY_A_COMMIT = ActivityType.SET_RESOLVED_IN_RELEASE.value


@dataclass(frozen=True, slots=True)
class ActivityLine:
    id: int
    type: str
    who: str
    what: str
    at: float
    note: Markup | None  # a comment, rendered
    text: str  # a comment as written (to edit it)
    mine: bool


def describe(row: ActivityRow) -> str:
    """What happened, after the name of who did it."""
    data, version = row.data, row.data.get("version")
    match row.type:
        case ActivityType.NOTE:
            return "commented"
        case ActivityType.SET_RESOLVED:
            return "resolved the issue"
        case ActivityType.SET_RESOLVED_IN_RELEASE if data.get("commit"):
            return f"resolved the issue in {version}: commit {str(data['commit'])[:12]} fixes it"
        case ActivityType.SET_RESOLVED_IN_RELEASE:
            return "resolved the issue in the next release" + (
                f" (after {version})" if version else ""
            )
        case ActivityType.CREATE_ISSUE:
            return f"linked {data.get('provider') or 'a'} issue {data.get('location', '')}"
        case ActivityType.SET_UNRESOLVED:
            return "reopened the issue"
        case ActivityType.SET_IGNORED:
            return "ignored the issue"
        case ActivityType.ASSIGNED:
            team = data.get("assigneeType") == "team"
            name = data.get("assigneeName") or data.get("assigneeEmail") or "someone"
            return f"assigned the issue to {'#' if team else ''}{name}"
        case ActivityType.UNASSIGNED:
            return "unassigned the issue"
        case ActivityType.SET_REGRESSION:
            return "marked the issue as a regression" + (f" in {version}" if version else "")
        case ActivityType.FIRST_SEEN:
            return "first saw the issue"
        case ActivityType.MERGE:
            count = len(data.get("issues") or [])
            return f"merged {count} issue{'s' if count != 1 else ''} into this one"
        case ActivityType.UNMERGE_SOURCE:
            count = len(data.get("fingerprints") or [])
            hashes = f"{count} grouping hash{'es' if count != 1 else ''}"
            return f"unmerged {hashes} into issue {data.get('destination_id', '')}"
        case ActivityType.UNMERGE_DESTINATION:
            return f"unmerged this issue from issue {data.get('source_id', '')}"
    return row.type


def who(row: ActivityRow) -> str:
    if row.user_email:
        return row.user_email
    if row.type in _BY_VEDETTE or (row.type == _BY_A_COMMIT and row.data.get("commit")):
        return "Vedette"
    return "An API token"


def activity_lines(rows: list[ActivityRow], viewer_id: int) -> list[ActivityLine]:
    return [
        ActivityLine(
            id=r.id,
            type=r.type,
            who=who(r),
            what=describe(r),
            at=r.created_at,
            note=markdown.render(str(r.data.get("text", ""))) if r.type == "note" else None,
            text=str(r.data.get("text", "")) if r.type == "note" else "",
            mine=r.type == "note" and r.user_id == viewer_id,
        )
        for r in rows
    ]


def assignee_choices(conn: Connection, organization_id: int) -> list[tuple[str, str]]:
    """(assignedTo value, label) of everyone and every team the org's issues may go to."""
    people = [(f"user:{uid}", email) for uid, email in teams.org_users(conn, organization_id)]
    groups = [(f"team:{t.slug}", f"#{t.slug}") for t in teams.list_teams(conn, organization_id)]
    return people + groups


def issue_page_data(
    conn: Connection, project: Project, issue_id: int, viewer_id: int
) -> dict[str, Any]:
    """What the issue page shows of assignment and activity."""
    return {
        "assignee": assignment.assignees_of(conn, [issue_id]).get(issue_id),
        "assignee_choices": assignee_choices(conn, project.organization_id),
        "activity": activity_lines(issue_activity.issue_activity(conn, issue_id), viewer_id),
        # Whether there is anything to unmerge (the hashes page counts events: not here).
        "owned_hashes": unmerge.owned_hashes(conn, issue_id),
    }


def _issue_url(project: Project, issue_id: int) -> str:
    return f"{project_base(project)}/issues/{issue_id}/"


def _actor(page: Page) -> Actor:
    return Actor(page.user.id, page.user.email)


def _assignee_ref(page: Page) -> Any:
    try:
        return parse_assignee(page.form.get("assignee"))
    except AssigneeError as exc:
        raise WebError(400, str(exc)) from exc


async def _assign(ui: WebCore, page: Page, project: Project, issue_ids: list[int]) -> None:
    ref, now, actor = _assignee_ref(page), time.time(), _actor(page)

    def apply(conn: Connection) -> Assignee | None:
        found = issues_of_project(conn, project.id, issue_ids)
        return assign(conn, project.organization_id, project.id, found, ref, actor, now,
                      ui.config.base_url)  # fmt: skip

    try:
        await ui.write(apply)
    except ChangeError as exc:
        raise WebError(400, str(exc)) from exc


async def assign_issue(ui: WebCore, page: Page, project: Project) -> Response:
    issue_id = int(page.request.path_params["issue_id"])
    await _assign(ui, page, project, [issue_id])
    return RedirectResponse(_issue_url(project, issue_id), 303)


async def bulk_assign(ui: WebCore, page: Page, project: Project, back: str) -> Response:
    ids = [int(i) for i in page.form.getlist("issue") if i.isdigit() and len(i) < 19]
    await _assign(ui, page, project, ids)
    return RedirectResponse(local_path(page.form.get("back"), back), 303)


async def add_comment(ui: WebCore, page: Page, project: Project) -> Response:
    issue_id = int(page.request.path_params["issue_id"])
    try:
        text = note_text(page.form.get("text"))
    except ValueError as exc:
        raise WebError(400, f"The comment's {exc}.") from exc
    note = NewActivity(issue_id, project.id, ActivityType.NOTE, page.user.id, {"text": text})

    def add(conn: Connection) -> bool:
        if not issues_of_project(conn, project.id, [issue_id]):
            return False
        issue_activity.record(conn, [note], time.time())
        return True

    if not await ui.write(add):
        raise WebError(404, "There is no such issue in this project.")
    return RedirectResponse(_issue_url(project, issue_id) + "#activity", 303)


def _note_id(page: Page) -> int:
    raw = page.form.get("note")
    return int(raw) if raw.isdigit() and len(raw) < 19 else -1


async def _change_own_note(ui: WebCore, page: Page, project: Project, text: str | None) -> Response:
    """Edit (``text``) or delete (None) one of the user's own comments."""
    issue_id, note_id = int(page.request.path_params["issue_id"]), _note_id(page)

    def change(conn: Connection) -> bool:
        note = issue_activity.get_note(conn, issue_id, note_id)
        if note is None or note.user_id != page.user.id:
            return False
        if not issues_of_project(conn, project.id, [issue_id]):
            return False
        if text is None:
            issue_activity.delete_note(conn, note_id)
        else:
            issue_activity.edit_note(conn, note_id, text)
        return True

    if not await ui.write(change):
        raise WebError(404, "There is no such comment of yours on this issue.")
    return RedirectResponse(_issue_url(project, issue_id) + "#activity", 303)


async def edit_comment(ui: WebCore, page: Page, project: Project) -> Response:
    try:
        text = note_text(page.form.get("text"))
    except ValueError as exc:
        raise WebError(400, f"The comment's {exc}.") from exc
    return await _change_own_note(ui, page, project, text)


async def delete_comment(ui: WebCore, page: Page, project: Project) -> Response:
    return await _change_own_note(ui, page, project, None)


async def merged_redirect(ui: WebCore, page: Page, project: Project) -> Response | None:
    """The page of an issue merged into another leads there (as Sentry's does); None for any
    other issue id."""
    issue_id = int(page.request.path_params["issue_id"])

    def find(conn: Connection) -> int | None:
        if queries.issue_project_id(conn, issue_id) is not None:
            return None
        parent = issue_redirects.follow(conn, issue_id)
        held = parent is not None and queries.issue_project_id(conn, parent) == project.id
        return parent if held else None

    parent = await ui.read(find)
    if parent is None:
        return None
    asked = page.request.url.query
    return RedirectResponse(_issue_url(project, parent) + (f"?{asked}" if asked else ""), 302)


@dataclass(frozen=True, slots=True)
class HashLine:
    hash: str
    events: int
    latest_at: float
    latest: queries.StoredEvent | None


async def hashes_page(ui: WebCore, page: Page, project: Project) -> Response:
    """The grouping hashes the issue's events were grouped by, with the unmerge form: read on
    request only, since counting them reads every event of the issue."""
    issue_id = int(page.request.path_params["issue_id"])

    def load(conn: Connection) -> tuple[queries.IssueRow, list[HashLine], int] | None:
        issue = queries.get_issue(conn, issue_id)
        if issue is None or issue.project_id != project.id:
            return None
        lines = [
            HashLine(
                h.hash,
                h.events,
                h.latest_timestamp,
                queries.get_event(conn, project.id, h.latest_event_id),
            )
            for h in unmerge.issue_hashes(conn, issue_id)
        ]
        return issue, lines, unmerge.unhashed_events(conn, issue_id)

    found = await ui.read(load)
    if found is None:
        raise WebError(404, "There is no such issue in this project.")
    issue, lines, unhashed = found
    return ui.page(
        page,
        "issue_hashes.html",
        project=project,
        section="issues",
        base=project_base(project),
        issue=issue,
        short_id=short_id(project.slug, issue.short_id),
        issue_url=_issue_url(project, issue_id),
        hashes=lines,
        unhashed=unhashed,
        max_unmerge=unmerge.MAX_UNMERGE,
    )


async def unmerge_issue(ui: WebCore, page: Page, project: Project) -> Response:
    """Move the chosen hashes' events to a new issue, and show it."""
    issue_id = int(page.request.path_params["issue_id"])
    hashes = page.form.getlist("hash")
    if not hashes:
        raise WebError(400, "Choose the grouping hashes to unmerge.")
    now, user_id = time.time(), page.user.id

    def apply(conn: Connection) -> unmerge.UnmergeResult | None:
        if not issues_of_project(conn, project.id, [issue_id]):
            return None
        return unmerge.unmerge(conn, issue_id, hashes, user_id, now, summarize)

    try:
        result = await ui.write(apply)
    except unmerge.UnmergeError as exc:
        raise WebError(400, f"This unmerge cannot be done: {exc}.") from exc
    if result is None:
        raise WebError(404, "There is no such issue in this project.")
    return RedirectResponse(_issue_url(project, result.destination), 303)


# Issue page forms: (path after /issues/{issue_id}/, handler, route name).
PAGES = [
    ("assign/", assign_issue, "issue-assign"),
    ("comments/", add_comment, "issue-comment"),
    ("comments/edit/", edit_comment, "issue-comment-edit"),
    ("comments/delete/", delete_comment, "issue-comment-delete"),
    ("unmerge/", unmerge_issue, "issue-unmerge"),
]

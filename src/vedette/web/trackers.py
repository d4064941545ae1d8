"""Issue trackers in the UI: the project's tracker settings, the issue page's "Create GitHub /
GitLab / Jira issue" buttons (the tracker's own new-issue form, pre-filled) and the tracker
URLs linked to an issue, also shown in the issue list (docs/workflow.md, "Issue trackers")."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection
from starlette.responses import RedirectResponse, Response

from vedette.domain.issue_activity import ActivityType
from vedette.domain.short_ids import short_id
from vedette.domain.trackers import (
    IssueSummary,
    TrackerError,
    attached_url,
    frame_lines,
    new_issue_links,
    settings_from_form,
)
from vedette.storage import audit, issue_activity, queries, trackers
from vedette.storage.accounts import Project
from vedette.storage.audit import AuditEvent
from vedette.storage.issue_activity import NewActivity
from vedette.web.core import Page, WebCore, WebError
from vedette.web.format import project_base

FIELDS = ("github_repo", "gitlab_project", "jira_base", "jira_project_id", "jira_issue_type")


def issue_page_data(
    conn: Connection,
    project: Project,
    issue: queries.IssueRow,
    event: dict[str, Any] | None,
    issue_url: str,
) -> dict[str, Any]:
    """The issue page's tracker buttons (label, URL) and the links already made."""
    summary = IssueSummary(
        short_id=short_id(project.slug, issue.short_id),
        title=issue.title,
        culprit=issue.culprit,
        url=issue_url,
        frames=frame_lines(event or {}),
    )
    settings = trackers.tracker_settings(conn, project.id)
    return {
        "tracker_buttons": new_issue_links(settings, summary),
        "issue_links": trackers.links_of(conn, [issue.id]).get(issue.id, []),
    }


async def settings_page(
    ui: WebCore, page: Page, project: Project, problem: str = "", typed: Any = None
) -> Response:
    current = await ui.read(lambda c: trackers.tracker_settings(c, project.id))
    return ui.page(
        page,
        "trackers.html",
        http_status=400 if problem else 200,
        project=project,
        section="settings",
        base=project_base(project),
        values=typed if typed is not None else {f: getattr(current, f) or "" for f in FIELDS},
        problem=problem,
    )


async def save_settings(ui: WebCore, page: Page, project: Project) -> Response:
    typed = {f: page.form.get(f) for f in FIELDS}
    try:
        settings = settings_from_form(typed)
    except TrackerError as problem:
        return await settings_page(ui, page, project, str(problem), typed)

    def apply(conn: Connection) -> None:
        trackers.save_tracker_settings(conn, project.id, settings)
        audit.record(conn, project.organization_id, page.actor, AuditEvent.PROJECT_EDIT,
                     f"{project.slug}: issue trackers", time.time(), asdict(settings))  # fmt: skip

    await ui.write(apply)
    return RedirectResponse(f"{project_base(project)}/settings/trackers/", 303)


async def _issue_id(ui: WebCore, page: Page, project: Project) -> int:
    issue_id = int(page.request.path_params["issue_id"])
    issue = await ui.read(lambda c: queries.get_issue(c, issue_id))
    if issue is None or issue.project_id != project.id:
        raise WebError(404, "There is no such issue in this project.")
    return issue_id


async def link_issue(ui: WebCore, page: Page, project: Project) -> Response:
    """Attach a tracker URL to the issue (recorded in its activity)."""
    issue_id = await _issue_id(ui, page, project)
    try:
        url, kind = attached_url(page.form.get("url"))
    except TrackerError as problem:
        raise WebError(400, str(problem)) from problem

    def apply(conn: Connection) -> None:
        now = time.time()
        if trackers.add_link(conn, issue_id, project.id, url, kind, page.user.id, now):
            data = {"provider": kind, "location": url}
            kind_of = ActivityType.CREATE_ISSUE
            activity = NewActivity(issue_id, project.id, kind_of, page.user.id, data)
            issue_activity.record(conn, [activity], now)

    await ui.write(apply)
    return RedirectResponse(f"{project_base(project)}/issues/{issue_id}/", 303)


async def unlink_issue(ui: WebCore, page: Page, project: Project) -> Response:
    issue_id = await _issue_id(ui, page, project)
    link_id = int(page.request.path_params["link_id"])
    if not await ui.write(lambda c: trackers.remove_link(c, issue_id, link_id)):
        raise WebError(404, "There is no such link on this issue.")
    return RedirectResponse(f"{project_base(project)}/issues/{issue_id}/", 303)

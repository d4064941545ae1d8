"""Issue list, issue detail (with its event), status changes and the raw event download."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection
from starlette.responses import RedirectResponse, Response

from vedette.api import issue_changes, serialize
from vedette.api.issue_changes import Actor
from vedette.domain.envelope import normalize_event_id
from vedette.domain.events import IssueStatus
from vedette.domain.search import TagFilter, for_viewer, parse_search
from vedette.domain.short_ids import short_id
from vedette.storage import (
    activity,
    assignment,
    feedback,
    logs,
    queries,
    releases_meta,
    suspect_commits,
)
from vedette.storage import trackers as tracker_links
from vedette.storage.accounts import Project
from vedette.storage.assignment import Assignee
from vedette.storage.snoozes import Snooze
from vedette.storage.trackers import IssueLink
from vedette.web import charts, issue_workflow, trackers
from vedette.web.core import Page, WebCore, WebError
from vedette.web.event_view import event_view
from vedette.web.format import project_base, query
from vedette.web.security import local_path
from vedette.web.snooze_options import SNOOZES

PAGE_SIZE = 25
SORTS = {"date": "Last seen", "new": "First seen", "freq": "Events", "user": "Users"}
DEFAULT_QUERY = "is:unresolved"
STATUS_ACTIONS = {
    "resolved": IssueStatus.RESOLVED,
    "resolvedInNextRelease": IssueStatus.RESOLVED_IN_NEXT_RELEASE,
    "ignored": IssueStatus.IGNORED,
    "unresolved": IssueStatus.UNRESOLVED,
}
# The issue chart: 24 hourly bars, or 30 daily ones.
PERIODS = {"24h": (3600, 24, "%d %b %H:00"), "30d": (86400, 30, "%d %b")}


def _int_param(raw: str | None, default: int = 0) -> int:
    return int(raw) if raw is not None and raw.isdigit() and len(raw) < 10 else default


@dataclass(frozen=True, slots=True)
class IssueLine:
    issue: queries.IssueRow
    short_id: str
    status: str
    sparkline: str
    assignee: Assignee | None = None
    links: list[IssueLink] = dataclasses.field(default_factory=list)  # linked tracker issues


def _status_label(issue: queries.IssueRow) -> str:
    if issue.status == IssueStatus.RESOLVED_IN_NEXT_RELEASE:
        return "resolved in next release"
    return issue.status


async def issue_list(ui: WebCore, page: Page, project: Project) -> Response:
    params = page.request.query_params
    text = params.get("query", DEFAULT_QUERY)
    environment = params.get("environment", "")
    release = params.get("release", "")
    sort = params.get("sort", "date")
    sort = sort if sort in SORTS else "date"
    cursor = _int_param(params.get("cursor"))
    search = for_viewer(parse_search(text), page.user.id)
    extra = [TagFilter("environment", environment)] if environment else []
    extra += [TagFilter("release", release)] if release else []
    search = dataclasses.replace(search, tags=search.tags + tuple(extra))
    hour = int(time.time() // 3600)

    def load(conn: Connection) -> tuple[Any, ...]:
        rows = (
            []
            if search.problems
            else queries.search_issues(conn, project.id, search, sort, PAGE_SIZE + 1, cursor)
        )
        environments = queries.tag_values(conn, project.id, "environment")
        releases = [r.version for r in queries.project_releases(conn, project.id)]
        counts = activity.issues_event_counts(
            conn, [r.id for r in rows[:PAGE_SIZE]], (hour - 23) * 3600, 3600
        )
        owners = assignment.assignees_of(conn, [r.id for r in rows[:PAGE_SIZE]])
        choices = issue_workflow.assignee_choices(conn, project.organization_id)
        links = tracker_links.links_of(conn, [r.id for r in rows[:PAGE_SIZE]])
        return rows, environments, releases, counts, owners, choices, links

    rows, environments, releases, counts, owners, choices, links = await ui.read(load)
    lines = [
        IssueLine(
            issue=r,
            short_id=short_id(project.slug, r.short_id),
            status=_status_label(r),
            sparkline=charts.sparkline(charts.series(counts.get(r.id, {}), hour - 23, 24), 80, 20),
            assignee=owners.get(r.id),
            links=links.get(r.id, []),
        )
        for r in rows[:PAGE_SIZE]
    ]
    state = {"query": text, "environment": environment, "release": release, "sort": sort}
    return ui.page(
        page,
        "issues.html",
        project=project,
        section="issues",
        base=project_base(project),
        lines=lines,
        problems=search.problems,
        environments=environments,
        releases=releases,
        sorts=SORTS,
        state=state,
        this_url=page.request.url.path + query({**state, "cursor": cursor or None}),
        previous_url=(
            query({**state, "cursor": max(cursor - PAGE_SIZE, 0) or None}) if cursor else None
        ),
        next_url=(
            query({**state, "cursor": cursor + PAGE_SIZE}) if len(rows) > PAGE_SIZE else None
        ),
        first=cursor + 1,
        last=cursor + len(lines),
        assignee_choices=choices,
    )


async def bulk(ui: WebCore, page: Page, project: Project) -> Response:
    if page.form.get("action") == "assign":
        back = project_base(project) + "/issues/"
        return await issue_workflow.bulk_assign(ui, page, project, back)
    action = STATUS_ACTIONS.get(page.form.get("action"))
    if action is None or action == IssueStatus.RESOLVED_IN_NEXT_RELEASE:
        raise WebError(400, "Choose resolve, ignore or reopen.")
    ids = [int(i) for i in page.form.getlist("issue") if i.isdigit() and len(i) < 19]
    now, actor = time.time(), Actor(page.user.id, page.user.email)

    def apply(conn: Connection) -> None:
        for issue_id in ids:
            issue = queries.get_issue(conn, issue_id)
            if issue is not None and issue.project_id == project.id:
                issue_changes.set_status(conn, issue_id, project.id, action, Snooze(), actor, now)

    await ui.write(apply)
    back = local_path(page.form.get("back"), project_base(project) + "/issues/")
    return RedirectResponse(back, 303)


async def _issue(ui: WebCore, page: Page, project: Project) -> queries.IssueRow:
    issue_id = int(page.request.path_params["issue_id"])
    issue = await ui.read(lambda c: queries.get_issue(c, issue_id))
    if issue is None or issue.project_id != project.id:
        raise WebError(404, "There is no such issue in this project.")
    return issue


async def set_status(ui: WebCore, page: Page, project: Project) -> Response:
    issue = await _issue(ui, page, project)
    status = STATUS_ACTIONS.get(page.form.get("status"))
    if status is None:
        raise WebError(400, "Unknown status.")

    actor = Actor(page.user.id, page.user.email)

    def apply(conn: Connection) -> None:
        issue_changes.set_status(conn, issue.id, project.id, status, Snooze(), actor, time.time())

    await ui.write(apply)
    target = f"{project_base(project)}/issues/{issue.id}/"
    return RedirectResponse(target + query({"event": page.form.get("event")}), 303)


async def issue_detail(ui: WebCore, page: Page, project: Project) -> Response:
    merged = await issue_workflow.merged_redirect(ui, page, project)
    if merged is not None:
        return merged
    issue = await _issue(ui, page, project)
    params = page.request.query_params
    period = params.get("period", "24h")
    period = period if period in PERIODS else "24h"
    bucket_seconds, buckets, label_format = PERIODS[period]
    asked = normalize_event_id(params.get("event", "")) if params.get("event") else None
    last_bucket = int(time.time() // bucket_seconds)
    first_bucket = last_bucket - buckets + 1

    absolute_url = f"{ui.config.base_url.rstrip('/')}{project_base(project)}/issues/{issue.id}/"

    def load(conn: Connection) -> dict[str, Any]:
        event = queries.get_event(conn, project.id, asked) if asked else None
        if event is None or event.group_id != issue.id:
            if asked:
                return {"missing": True}
            latest = queries.issue_events(conn, issue.id, limit=1)
            event = latest[0] if latest else None
        return {
            "missing": False,
            "event": event,
            "neighbours": (
                queries.event_neighbours(conn, project.id, issue.id, event.event_id)
                if event
                else None
            ),
            "tags": queries.issue_tags(conn, issue.id, top=5),
            "feedback": feedback.issue_feedback(conn, issue.id),
            "trace_logs": _trace_logs(conn, project.id, event),
            "first_release": _first_release(conn, project, issue.first_release),
            "suspects": (
                suspect_commits.event_suspects(conn, project.organization_id, event.data)
                if event
                else []
            ),
            "counts": activity.issues_event_counts(
                conn, [issue.id], first_bucket * bucket_seconds, bucket_seconds
            ).get(issue.id, {}),
            "workflow": issue_workflow.issue_page_data(conn, project, issue.id, page.user.id),
            "trackers": trackers.issue_page_data(
                conn, project, issue, event.data if event else None, absolute_url
            ),
        }

    found = await ui.read(load)
    if found["missing"]:
        raise WebError(404, "That event is not one of this issue's.")
    event: queries.StoredEvent | None = found["event"]
    base = project_base(project)
    return ui.page(
        page,
        "issue.html",
        project=project,
        section="issues",
        base=base,
        issue=issue,
        short_id=short_id(project.slug, issue.short_id),
        status=_status_label(issue),
        period=period,
        chart=charts.time_bars(
            found["counts"], first_bucket, buckets, bucket_seconds, label_format
        ),
        chart_total=sum(found["counts"].values()),
        tags=found["tags"],
        event=None if event is None else event_view(event.data),
        neighbours=found["neighbours"],
        feedback=found["feedback"],
        trace_logs=found["trace_logs"],
        first_release=found["first_release"],
        suspects=found["suspects"],
        issue_url=f"{base}/issues/{issue.id}/",
        **found["workflow"],
        **found["trackers"],
        snooze_options=[(value, label) for value, label, _ in SNOOZES],
    )


def _first_release(
    conn: Connection, project: Project, version: str | None
) -> tuple[str, list[releases_meta.DeployRow]] | None:
    """The release the issue was first seen in and its deploys, newest first."""
    if version is None:
        return None
    release = releases_meta.get_release(conn, project.organization_id, version)
    return version, [] if release is None else releases_meta.deploys_of(conn, release.id)


def _trace_logs(
    conn: Connection, project_id: int, event: queries.StoredEvent | None
) -> tuple[str, list[logs.StoredLog]] | None:
    """The trace of the event shown and the first of its logs (docs/logs.md)."""
    trace = ((event.data.get("contexts") or {}).get("trace") or {}) if event else {}
    trace_id = trace.get("trace_id") if isinstance(trace, dict) else None
    if not isinstance(trace_id, str):
        return None
    return trace_id, logs.trace_logs(conn, [project_id], trace_id, limit=20)


async def raw_event(ui: WebCore, page: Page, project: Project) -> Response:
    event_id = normalize_event_id(page.request.path_params["event_id"])
    event = (
        None
        if event_id is None
        else await ui.read(lambda c: queries.get_event(c, project.id, event_id))
    )
    if event is None:
        raise WebError(404, "There is no such event in this project.")
    return Response(
        orjson.dumps(serialize.event_json(event), option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{event.event_id}.json"'},
    )

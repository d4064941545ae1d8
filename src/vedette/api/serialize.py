"""Stored rows -> Sentry's JSON shapes (field names as in Sentry's web API)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vedette.domain.events import IssueStatus
from vedette.domain.short_ids import short_id
from vedette.storage.accounts import Project, ProjectKeyRow
from vedette.storage.assignment import Assignee
from vedette.storage.queries import AttachmentRow, IssueRow, StoredEvent, TagSummary


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def project_json(project: Project) -> dict[str, Any]:
    return {"id": str(project.id), "slug": project.slug, "name": project.name}


def assignee_json(assignee: Assignee | None) -> dict[str, Any] | None:
    """Sentry's ``assignedTo``: a user (name and email) or a team (its slug as name)."""
    if assignee is None:
        return None
    return {
        "type": assignee.type,
        "id": str(assignee.id),
        "name": assignee.name,
        "email": assignee.email,
    }


def issue_json(
    issue: IssueRow, project: Project, assignee: Assignee | None = None
) -> dict[str, Any]:
    in_next_release = issue.status == IssueStatus.RESOLVED_IN_NEXT_RELEASE
    return {
        "id": str(issue.id),
        "shortId": short_id(project.slug, issue.short_id),
        "title": issue.title,
        "culprit": issue.culprit,
        "level": issue.level,
        "type": issue.type,
        "platform": issue.platform,
        "status": "resolved" if in_next_release else issue.status,
        "substatus": issue.substatus,
        "statusDetails": _status_details(issue),
        "count": str(issue.times_seen),
        "userCount": issue.user_count,
        "firstSeen": iso(issue.first_seen),
        "lastSeen": iso(issue.last_seen),
        "firstRelease": {"version": issue.first_release} if issue.first_release else None,
        "lastRelease": {"version": issue.last_release} if issue.last_release else None,
        "metadata": issue.metadata,
        "project": project_json(project),
        "assignedTo": assignee_json(assignee),
    }


def _status_details(issue: IssueRow) -> dict[str, Any]:
    """Sentry's ``statusDetails``: resolved in the next release, or in a release (a commit of
    it said ``Fixes``)."""
    if issue.status == IssueStatus.RESOLVED_IN_NEXT_RELEASE:
        return {"inNextRelease": True}
    if issue.status == IssueStatus.RESOLVED and issue.resolved_in_release:
        return {"inRelease": issue.resolved_in_release}
    return {}


def tags_json(tags: list[TagSummary]) -> list[dict[str, Any]]:
    return [
        {
            "key": t.key,
            "name": t.key,
            "totalValues": t.total,
            "uniqueValues": t.distinct,
            "topValues": [{"key": t.key, "value": v, "name": v, "count": n} for v, n in t.top],
        }
        for t in tags
    ]


def _message(data: dict[str, Any]) -> str:
    logentry = data.get("logentry")
    if isinstance(logentry, dict):
        text = logentry.get("formatted") or logentry.get("message")
        if isinstance(text, str):
            return text
    return ""


def _tag_list(data: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": str(k), "value": str(v)} for k, v in data.get("tags") or []]


def event_summary_json(event: StoredEvent) -> dict[str, Any]:
    data = event.data
    return {
        "id": event.event_id,
        "eventID": event.event_id,
        "groupID": str(event.group_id) if event.group_id is not None else None,
        "projectID": str(event.project_id),
        "type": event.type,
        "title": event.title,
        "message": _message(data),
        "platform": data.get("platform"),
        "dateCreated": iso(data.get("timestamp")),
        "tags": _tag_list(data),
        "user": data.get("user"),
        "transaction": data.get("transaction"),
    }


def _entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Sentry's ``entries`` list: the interfaces the issue page renders, in its order."""
    entries: list[dict[str, Any]] = []
    if data.get("exception"):
        entries.append({"type": "exception", "data": data["exception"]})
    if data.get("logentry"):
        entries.append({"type": "message", "data": data["logentry"]})
    if data.get("spans") is not None and data.get("type") == "transaction":
        entries.append({"type": "spans", "data": data["spans"]})
    if data.get("breadcrumbs"):
        entries.append({"type": "breadcrumbs", "data": data["breadcrumbs"]})
    if data.get("request"):
        entries.append({"type": "request", "data": data["request"]})
    return entries


def event_json(event: StoredEvent) -> dict[str, Any]:
    data = event.data
    return {
        **data,
        **event_summary_json(event),
        "dateReceived": iso(data.get("received")),
        "entries": _entries(data),
    }


def attachment_json(row: AttachmentRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "mimetype": row.content_type,
        "type": row.attachment_type,
        "size": row.size,
    }


def dsn(base_url: str, public_key: str, project_id: int) -> str:
    scheme, _, rest = base_url.rstrip("/").partition("://")
    return f"{scheme}://{public_key}@{rest}/{project_id}"


def key_json(key: ProjectKeyRow, project: Project, base_url: str) -> dict[str, Any]:
    return {
        "id": key.public_key,
        "name": key.label,
        "public": key.public_key,
        "isActive": key.is_active,
        "dateCreated": iso(key.created_at),
        "dsn": {"public": dsn(base_url, key.public_key, project.id)},
        "rateLimit": None
        if key.rate_limit is None
        else {"window": key.rate_limit.window, "count": key.rate_limit.count},
    }

"""The kinds of an issue's activity (Sentry's names) and which a status change records."""

from __future__ import annotations

from enum import StrEnum

from vedette.domain.events import IssueStatus

MAX_NOTE_CHARS = 10_000


class ActivityType(StrEnum):
    NOTE = "note"
    SET_RESOLVED = "set_resolved"
    SET_RESOLVED_IN_RELEASE = "set_resolved_in_release"
    SET_UNRESOLVED = "set_unresolved"
    SET_IGNORED = "set_ignored"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    SET_REGRESSION = "set_regression"
    FIRST_SEEN = "first_seen"
    MERGE = "merge"
    # An unmerge, on both issues: {"fingerprints": [hash, ...], "destination_id" | "source_id"}.
    UNMERGE_SOURCE = "unmerge_source"
    UNMERGE_DESTINATION = "unmerge_destination"
    CREATE_ISSUE = "create_issue"  # a tracker issue was linked: {"provider", "location"}


_STATUS_ACTIVITY = {
    IssueStatus.RESOLVED: ActivityType.SET_RESOLVED,
    IssueStatus.RESOLVED_IN_NEXT_RELEASE: ActivityType.SET_RESOLVED_IN_RELEASE,
    IssueStatus.UNRESOLVED: ActivityType.SET_UNRESOLVED,
    IssueStatus.IGNORED: ActivityType.SET_IGNORED,
}


def status_activity(status: IssueStatus) -> ActivityType:
    return _STATUS_ACTIVITY[status]


def note_text(raw: object) -> str:
    """A comment's text, or ValueError: a non-blank string of at most ``MAX_NOTE_CHARS``."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("text must be a non-empty string")
    if len(raw) > MAX_NOTE_CHARS:
        raise ValueError(f"text must be at most {MAX_NOTE_CHARS} characters")
    return raw.strip()

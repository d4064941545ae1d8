"""Links to issue trackers (GitHub, GitLab, Jira), as pure functions: a project's tracker
settings, the tracker's "new issue" form pre-filled from a Vedette issue, and the URLs users
attach to an issue. No tracker is called: the user's browser opens the form, signed in to the
tracker as themselves (docs/workflow.md, "Issue trackers").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

MAX_URL_CHARS = 2000
# Trackers and browsers refuse very long URLs (GitHub about 8 KB): the body is cut to this.
MAX_BODY_CHARS = 3000
MAX_FRAMES = 8
_NUMBER = re.compile(r"^[0-9]{1,18}$")
# A link's tracker, told by its host (self-hosted instances usually keep the name in it).
_TRACKER_HOSTS = (("github", ("github",)), ("gitlab", ("gitlab",)),
                  ("jira", ("atlassian.net", "jira")))  # fmt: skip


class TrackerError(ValueError):
    """A setting or a link that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    github_repo: str | None = None  # https://github.com/OWNER/REPO (or a GitHub Enterprise host)
    gitlab_project: str | None = None  # https://gitlab.com/GROUP/PROJECT
    jira_base: str | None = None  # https://acme.atlassian.net
    jira_project_id: str | None = None  # the numeric project id Jira's create form takes
    jira_issue_type: str | None = None  # the numeric issue type id (e.g. 10001)


@dataclass(frozen=True, slots=True)
class IssueSummary:
    """What a new tracker issue says about the Vedette issue."""

    short_id: str
    title: str
    culprit: str
    url: str  # the issue's page, absolute
    frames: Sequence[str] = ()  # in-app frames, innermost first: "shop/pay.py in charge at line 12"


def web_url(raw: str, label: str, *, path_segments: int = 0) -> str | None:
    """``raw`` as an http(s) URL with a host (and at least ``path_segments`` path segments),
    without a trailing slash, query or fragment; None when blank; TrackerError otherwise."""
    text = raw.strip()
    if not text:
        return None
    parts = urlsplit(text)
    segments = [s for s in parts.path.split("/") if s]
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or len(text) > 500
        or len(segments) < path_segments
        or parts.query
        or parts.fragment
    ):
        raise TrackerError(f"{label} must be an http(s) address like the example")
    return f"{parts.scheme}://{parts.netloc}/{'/'.join(segments)}".rstrip("/")


def _number(raw: str, label: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    if not _NUMBER.match(text):
        raise TrackerError(f"{label} must be a number")
    return text


def settings_from_form(form: Mapping[str, str]) -> TrackerSettings:
    """The settings a user typed, checked; TrackerError says what is wrong."""
    found = TrackerSettings(
        github_repo=web_url(form.get("github_repo", ""), "GitHub repository", path_segments=2),
        gitlab_project=web_url(form.get("gitlab_project", ""), "GitLab project", path_segments=2),
        jira_base=web_url(form.get("jira_base", ""), "Jira address"),
        jira_project_id=_number(form.get("jira_project_id", ""), "Jira project id"),
        jira_issue_type=_number(form.get("jira_issue_type", ""), "Jira issue type id"),
    )
    if found.jira_base and not found.jira_project_id:
        raise TrackerError("Jira needs the project id as well as its address")
    return found


def issue_body(issue: IssueSummary) -> str:
    """The new tracker issue's text: where the Vedette issue is and where it happens."""
    lines = [f"Vedette issue {issue.short_id}: {issue.url}", ""]
    if issue.culprit:
        lines += [f"Culprit: {issue.culprit}", ""]
    if issue.frames:
        lines += ["```", *issue.frames[:MAX_FRAMES], "```"]
    body = "\n".join(lines).strip()
    return body if len(body) <= MAX_BODY_CHARS else body[: MAX_BODY_CHARS - 1] + "…"


def new_issue_links(settings: TrackerSettings, issue: IssueSummary) -> list[tuple[str, str]]:
    """(label, URL of the tracker's pre-filled new-issue form) for each configured tracker."""
    title = f"{issue.short_id}: {issue.title}"[:250]
    body = issue_body(issue)
    links = []
    if settings.github_repo:
        query = urlencode({"title": title, "body": body})
        links.append(("Create GitHub issue", f"{settings.github_repo}/issues/new?{query}"))
    if settings.gitlab_project:
        query = urlencode({"issue[title]": title, "issue[description]": body})
        links.append(("Create GitLab issue", f"{settings.gitlab_project}/-/issues/new?{query}"))
    if settings.jira_base and settings.jira_project_id:
        fields = {"pid": settings.jira_project_id, "issuetype": settings.jira_issue_type or "",
                  "summary": title, "description": body}  # fmt: skip
        query = urlencode({k: v for k, v in fields.items() if v})
        form = f"{settings.jira_base}/secure/CreateIssueDetails!init.jspa"
        links.append(("Create Jira issue", f"{form}?{query}"))
    return links


def attached_url(raw: str) -> tuple[str, str]:
    """A URL a user attaches to an issue, checked (http or https, a host, bounded), and the
    kind of tracker it points to (``github``, ``gitlab``, ``jira`` or ``link``)."""
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > MAX_URL_CHARS:
        raise TrackerError("a link must be an http(s) address")
    host = parts.hostname.lower()
    kind = next((k for k, marks in _TRACKER_HOSTS if any(m in host for m in marks)), "link")
    return text, kind


def frame_lines(event: Mapping[str, Any]) -> list[str]:
    """The in-app frames of the event's last exception, innermost first, one line each."""
    values = (event.get("exception") or {}).get("values") or []
    stack = (values[-1].get("stacktrace") or {}) if values and isinstance(values[-1], dict) else {}
    frames = [f for f in stack.get("frames") or [] if isinstance(f, dict) and f.get("in_app")]
    lines = []
    for frame in reversed(frames[-MAX_FRAMES:]):
        where = frame.get("filename") or frame.get("module") or "?"
        line = f" at line {frame['lineno']}" if isinstance(frame.get("lineno"), int) else ""
        lines.append(f"{where} in {frame.get('function') or '?'}{line}"[:200])
    return lines

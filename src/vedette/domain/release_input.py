"""What sentry-cli sends about a release, checked and parsed: versions, dates, commits, refs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_VERSION = 200
MAX_COMMITS = 1000
MAX_COMMIT_FILES = 1000
MAX_PATH_CHARS = 400

_FRACTION = re.compile(r"(\.\d{6})\d+")


class ReleaseInputError(ValueError):
    """The payload names something that cannot be a release, date, commit or ref."""


@dataclass(frozen=True, slots=True)
class CommitInput:
    sha: str
    repository: str | None
    message: str | None
    author_name: str | None
    author_email: str | None
    timestamp: float | None
    files: tuple[str, ...] = ()  # the paths it touched (``patch_set``), for suspect commits


@dataclass(frozen=True, slots=True)
class RefInput:
    """``--commit REPO@[PREVIOUS..]SHA``: the head commit of a repository, and where it began."""

    repository: str
    commit: str
    previous_commit: str | None


def version(value: object) -> str:
    """A release version as Sentry accepts it: 1-200 characters, no slash or newline, not
    ``.``, ``..`` or ``latest``."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_VERSION:
        raise ReleaseInputError(f"version must be a string of 1 to {MAX_VERSION} characters")
    if (
        value.strip() != value
        or value in (".", "..", "latest")
        or any(c in value for c in "/\n\t\r")
    ):
        raise ReleaseInputError(f"invalid release version: {value!r}")
    return value


def timestamp(value: object, field: str) -> float | None:
    """An ISO 8601 date (``Z``, offsets, up to nanoseconds) or null as seconds since 1970."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReleaseInputError(f"{field} must be an ISO 8601 date")
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ReleaseInputError(f"{field} must be an ISO 8601 date") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _text(item: dict[str, object], key: str, limit: int) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ReleaseInputError(f"commit {key} must be a string")
    return value[:limit]


def commits(value: object) -> list[CommitInput]:
    """Sentry's ``commits`` list (``id``, ``repository``, ``message``, ``author_name``,
    ``author_email``, ``timestamp``), newest first as sentry-cli sends it."""
    if not isinstance(value, list) or len(value) > MAX_COMMITS:
        raise ReleaseInputError(f"commits must be a list of at most {MAX_COMMITS}")
    parsed = []
    for item in value:
        if not isinstance(item, dict):
            raise ReleaseInputError("each commit must be an object")
        sha = _text(item, "id", 64)
        if sha is None:
            raise ReleaseInputError("each commit needs an id")
        parsed.append(
            CommitInput(
                sha=sha,
                repository=_text(item, "repository", 200),
                message=_text(item, "message", 10_000),
                author_name=_text(item, "author_name", 200),
                author_email=_text(item, "author_email", 200),
                timestamp=timestamp(item.get("timestamp"), "commit timestamp"),
                files=patch_set_paths(item.get("patch_set")),
            )
        )
    return parsed


def patch_set_paths(value: object) -> tuple[str, ...]:
    """The paths of a commit's ``patch_set`` (``[{"path": ..., "type": "A"|"M"|"D"}]``), first
    ``MAX_COMMIT_FILES`` kept; entries that are not path objects are skipped."""
    if not isinstance(value, list):
        return ()
    paths = [
        entry["path"][:MAX_PATH_CHARS]
        for entry in value[:MAX_COMMIT_FILES]
        if isinstance(entry, dict) and isinstance(entry.get("path"), str) and entry["path"]
    ]
    return tuple(dict.fromkeys(paths))


def refs(value: object) -> list[RefInput]:
    """Sentry's ``refs`` list: ``repository``, ``commit`` and optional ``previousCommit``. A
    ``commit`` of the form ``A..B`` is read as ``previousCommit`` A and ``commit`` B."""
    if not isinstance(value, list):
        raise ReleaseInputError("refs must be a list")
    parsed = []
    for item in value:
        repository = item.get("repository") if isinstance(item, dict) else None
        commit = item.get("commit") if isinstance(item, dict) else None
        if not isinstance(repository, str) or not isinstance(commit, str) or not commit:
            raise ReleaseInputError("each ref needs a repository and a commit")
        previous = item.get("previousCommit") if isinstance(item, dict) else None
        parsed.append(commit_range(repository, commit, previous))
    return parsed


def commit_range(repository: str, commit: str, previous: object = None) -> RefInput:
    """``SHA`` or ``PREVIOUS..SHA`` of ``repository``; an explicit previous commit wins."""
    start, dots, end = commit.partition("..")
    if dots and (not start or not end):
        raise ReleaseInputError(f"invalid commit range: {commit!r}")
    head = end if dots else commit
    if previous is not None and not isinstance(previous, str):
        raise ReleaseInputError("previousCommit must be a string")
    return RefInput(repository, head, previous or (start if dots else None))

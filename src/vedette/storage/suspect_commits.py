"""Suspect commits of an event: the commits of the event's release that touched a file of its
in-app frames (docs/releases.md, "Commits and issues")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from vedette.domain.suspects import in_app_paths, suspects
from vedette.storage import releases_meta
from vedette.storage.releases_meta import CommitRow

MAX_SUSPECTS = 10


def event_suspects(
    conn: Connection, organization_id: int, event: Mapping[str, Any]
) -> list[tuple[CommitRow, tuple[str, ...]]]:
    """(commit, the files of it the event's frames touched), best match first."""
    version = event.get("release")
    paths = in_app_paths(event)
    if not isinstance(version, str) or not paths:
        return []
    release = releases_meta.get_release(conn, organization_id, version)
    if release is None:
        return []
    commits = releases_meta.commits_of(conn, release.id)
    found = suspects(paths, [c.files for c in commits])[:MAX_SUSPECTS]
    return [(commits[s.position], s.files) for s in found]

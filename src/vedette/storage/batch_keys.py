"""Looking up a batch's rows by key, one project at a time."""

from __future__ import annotations

from collections.abc import Iterable


def by_project(keys: Iterable[tuple[int, str]]) -> dict[int, list[str]]:
    """Keys grouped by project, each project's sorted: one lookup per project of a batch.

    ``project_id = ? AND key IN (...)`` rather than ``(project_id, key) IN ((?, ?), ...)``:
    PostgreSQL plans the row-value list as an OR of one condition per key, and without
    statistics (a table never analysed) it read every row of the project and tested each
    against all of them (1,000 keys over 433,000 events: 7 s a batch, against 0.1 s as a list).
    """
    grouped: dict[int, list[str]] = {}
    for project_id, key in keys:
        grouped.setdefault(project_id, []).append(key)
    return {project_id: sorted(found) for project_id, found in sorted(grouped.items())}

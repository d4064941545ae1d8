"""Data scrubbing settings as the API stored them (JSON in Sentry's field names), and a short
cache through which the worker reads them.

Storage keeps what it is given and reads it back; what the fields mean, and how a project's
combine with its organization's, is processing.privacy_settings' concern.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Table, select

from vedette.storage.database import Database
from vedette.storage.dialect import insert_for
from vedette.storage.schema import organization_privacy, organizations, project_privacy, projects

# How long a node may apply settings older than the last change (docs/privacy.md).
SETTINGS_CACHE_SECONDS = 5.0

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Organization:
    id: int
    slug: str
    name: str


def find_organization(conn: Connection, slug: str) -> Organization | None:
    row = conn.execute(
        select(organizations.c.id, organizations.c.slug, organizations.c.name).where(
            organizations.c.slug == slug
        )
    ).one_or_none()
    return None if row is None else Organization(row.id, row.slug, row.name)


def _options(conn: Connection, table: Table, key: str, owner: int) -> dict[str, Any] | None:
    value = conn.execute(select(table.c.options).where(table.c[key] == owner)).scalar()
    return value if isinstance(value, dict) else None


def _save(
    conn: Connection, table: Table, key: str, owner: int, options: dict[str, Any], now: float
) -> None:
    statement = insert_for(conn, table).values({key: owner, "options": options, "updated_at": now})
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c[key]], set_={"options": options, "updated_at": now}
        )
    )


def organization_options(conn: Connection, organization_id: int) -> dict[str, Any] | None:
    return _options(conn, organization_privacy, "organization_id", organization_id)


def project_options(conn: Connection, project_id: int) -> dict[str, Any] | None:
    return _options(conn, project_privacy, "project_id", project_id)


def save_organization_options(
    conn: Connection, organization_id: int, options: dict[str, Any], now: float
) -> None:
    _save(conn, organization_privacy, "organization_id", organization_id, options, now)


def save_project_options(
    conn: Connection, project_id: int, options: dict[str, Any], now: float
) -> None:
    _save(conn, project_privacy, "project_id", project_id, options, now)


def options_of_project(
    conn: Connection, project_id: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The organization's stored options and the project's own (None: never saved)."""
    row = conn.execute(
        select(organization_privacy.c.options.label("org"), project_privacy.c.options.label("own"))
        .select_from(projects)
        .outerjoin(
            organization_privacy,
            organization_privacy.c.organization_id == projects.c.organization_id,
        )
        .outerjoin(project_privacy, project_privacy.c.project_id == projects.c.id)
        .where(projects.c.id == project_id)
    ).one_or_none()
    if row is None:
        return None, None
    return (
        row.org if isinstance(row.org, dict) else None,
        row.own if isinstance(row.own, dict) else None,
    )


class ShortCache(Generic[K, V]):
    """``load(key)``, remembered for ``seconds``: every node sees a change within that time
    without a query per event. Thread-safe; ``clock`` is for tests."""

    def __init__(
        self,
        load: Callable[[K], V],
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._seconds = seconds
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def __call__(self, key: K) -> V:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self._seconds:
            return entry[1]
        value = self._load(key)
        with self._lock:
            self._entries[key] = (now, value)
        return value


def project_options_reader(
    db: Database,
) -> Callable[[int], tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """``options_of_project`` on a read connection of its own (the worker's cache calls it)."""

    def read(project_id: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        with db.read() as conn:
            return options_of_project(conn, project_id)

    return read

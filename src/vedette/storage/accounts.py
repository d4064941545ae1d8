"""Organisations, projects and DSN keys (API tokens: storage/tokens.py)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from vedette.storage.schema import organizations, project_keys, projects


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    organization_id: int
    organization_slug: str
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` events per ``window`` seconds (Sentry's key ``rateLimit``)."""

    count: int
    window: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.window <= MAX_RATE_LIMIT_WINDOW:
            raise ValueError(f"a rate limit is 1+ events per 1 to {MAX_RATE_LIMIT_WINDOW} s")

    @staticmethod
    def columns(limit: RateLimit | None) -> dict[str, int | None]:
        """The key's columns for ``limit`` (None: no limit), for ``update_key``."""
        if limit is None:
            return {"rate_limit_count": None, "rate_limit_window": None}
        return {"rate_limit_count": limit.count, "rate_limit_window": limit.window}


MAX_RATE_LIMIT_WINDOW = 86400


@dataclass(frozen=True, slots=True)
class ProjectKey:
    public_key: str
    project_id: int
    is_active: bool
    rate_limit: RateLimit | None = None


def _rate_limit(count: int | None, window: int | None) -> RateLimit | None:
    return None if count is None or window is None else RateLimit(count, window)


def organization_id(conn: Connection, slug: str) -> int | None:
    found = conn.execute(
        select(organizations.c.id).where(organizations.c.slug == slug)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def organization_slug(conn: Connection, organization_id: int) -> str:
    return str(
        conn.execute(
            select(organizations.c.slug).where(organizations.c.id == organization_id)
        ).scalar_one()
    )


def ensure_organization(conn: Connection, slug: str) -> int:
    existing = conn.execute(
        select(organizations.c.id).where(organizations.c.slug == slug)
    ).scalar_one_or_none()
    if existing is not None:
        return int(existing)
    return int(
        conn.execute(
            organizations.insert()
            .values(slug=slug, name=slug, created_at=time.time())
            .returning(organizations.c.id)
        ).scalar_one()
    )


def create_project(conn: Connection, org_slug: str, slug: str) -> Project:
    """Create the project (and its organisation if new) with one active DSN key."""
    org_id = ensure_organization(conn, org_slug)
    project_id = conn.execute(
        projects.insert()
        .values(organization_id=org_id, slug=slug, name=slug, created_at=time.time())
        .returning(projects.c.id)
    ).scalar_one()
    create_key(conn, int(project_id))
    return Project(int(project_id), org_id, org_slug, slug, slug)


def create_key(conn: Connection, project_id: int, label: str = "Default") -> str:
    public_key = secrets.token_hex(16)
    conn.execute(
        project_keys.insert().values(
            project_id=project_id, public_key=public_key, label=label, created_at=time.time()
        )
    )
    return public_key


def update_key(conn: Connection, project_id: int, public_key: str, **values: object) -> bool:
    """Set columns of one of the project's keys (``is_active``, ``label``, the rate limit);
    False when the project has no such key."""
    result = conn.execute(
        update(project_keys)
        .where(project_keys.c.project_id == project_id, project_keys.c.public_key == public_key)
        .values(**values)
    )
    return bool(result.rowcount)


def delete_key(conn: Connection, project_id: int, public_key: str) -> bool:
    result = conn.execute(
        project_keys.delete().where(
            project_keys.c.project_id == project_id, project_keys.c.public_key == public_key
        )
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class ProjectKeyRow:
    public_key: str
    label: str
    is_active: bool
    created_at: float
    rate_limit: RateLimit | None = None


def keys_of_project(conn: Connection, project_id: int) -> list[ProjectKeyRow]:
    rows = conn.execute(
        select(project_keys)
        .where(project_keys.c.project_id == project_id)
        .order_by(project_keys.c.id)
    )
    return [
        ProjectKeyRow(
            r.public_key,
            r.label,
            bool(r.is_active),
            r.created_at,
            _rate_limit(r.rate_limit_count, r.rate_limit_window),
        )
        for r in rows
    ]


def key_info(conn: Connection, public_key: str) -> ProjectKey | None:
    row = conn.execute(
        select(project_keys).where(project_keys.c.public_key == public_key)
    ).one_or_none()
    if row is None:
        return None
    limit = _rate_limit(row.rate_limit_count, row.rate_limit_window)
    return ProjectKey(public_key, row.project_id, bool(row.is_active), limit)


def find_project(conn: Connection, org_slug: str, project_slug: str) -> Project | None:
    row = conn.execute(
        select(projects.c.id, projects.c.organization_id, projects.c.slug, projects.c.name)
        .join(organizations, organizations.c.id == projects.c.organization_id)
        .where(organizations.c.slug == org_slug, projects.c.slug == project_slug)
    ).one_or_none()
    if row is None:
        return None
    return Project(row.id, row.organization_id, org_slug, row.slug, row.name)


def get_project(conn: Connection, project_id: int) -> Project | None:
    row = conn.execute(
        select(projects, organizations.c.slug.label("org_slug"))
        .join(organizations, organizations.c.id == projects.c.organization_id)
        .where(projects.c.id == project_id)
    ).one_or_none()
    if row is None:
        return None
    return Project(row.id, row.organization_id, row.org_slug, row.slug, row.name)


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    id: int
    organization_id: int
    organization_slug: str
    slug: str
    name: str
    apdex_threshold: float


def list_projects(conn: Connection, organization_ids: list[int] | None) -> list[ProjectSummary]:
    """Projects of the given organisations (None: every organisation)."""
    stmt = (
        select(
            projects.c.id,
            projects.c.organization_id,
            organizations.c.slug.label("org_slug"),
            projects.c.slug,
            projects.c.name,
            projects.c.apdex_threshold,
        )
        .join(organizations, organizations.c.id == projects.c.organization_id)
        .order_by(organizations.c.slug, projects.c.slug)
    )
    if organization_ids is not None:
        stmt = stmt.where(projects.c.organization_id.in_(organization_ids))
    return [
        ProjectSummary(r.id, r.organization_id, r.org_slug, r.slug, r.name, r.apdex_threshold)
        for r in conn.execute(stmt)
    ]

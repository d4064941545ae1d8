"""Organisations, projects, DSN keys and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from vedette.storage.schema import api_tokens, organizations, project_keys, projects


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    organization_id: int
    organization_slug: str
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class ProjectKey:
    public_key: str
    project_id: int
    is_active: bool


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


def set_key_active(conn: Connection, project_id: int, public_key: str, active: bool) -> None:
    conn.execute(
        update(project_keys)
        .where(project_keys.c.project_id == project_id, project_keys.c.public_key == public_key)
        .values(is_active=active)
    )


@dataclass(frozen=True, slots=True)
class ProjectKeyRow:
    public_key: str
    label: str
    is_active: bool
    created_at: float


def keys_of_project(conn: Connection, project_id: int) -> list[ProjectKeyRow]:
    rows = conn.execute(
        select(
            project_keys.c.public_key,
            project_keys.c.label,
            project_keys.c.is_active,
            project_keys.c.created_at,
        )
        .where(project_keys.c.project_id == project_id)
        .order_by(project_keys.c.id)
    )
    return [ProjectKeyRow(r.public_key, r.label, bool(r.is_active), r.created_at) for r in rows]


def key_info(conn: Connection, public_key: str) -> ProjectKey | None:
    row = conn.execute(
        select(project_keys.c.project_id, project_keys.c.is_active).where(
            project_keys.c.public_key == public_key
        )
    ).one_or_none()
    return None if row is None else ProjectKey(public_key, row.project_id, bool(row.is_active))


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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(conn: Connection, label: str = "", organization_id: int | None = None) -> str:
    token = "vdt_" + secrets.token_hex(24)
    conn.execute(
        api_tokens.insert().values(
            token_hash=hash_token(token),
            label=label,
            organization_id=organization_id,
            created_at=time.time(),
        )
    )
    return token


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """Who a token speaks for: one organisation, or every one (operator tokens)."""

    organization_id: int | None

    def may_read(self, organization_id: int) -> bool:
        return self.organization_id is None or self.organization_id == organization_id


def authenticate_token(conn: Connection, token: str) -> TokenGrant | None:
    row = conn.execute(
        select(api_tokens.c.organization_id).where(api_tokens.c.token_hash == hash_token(token))
    ).one_or_none()
    return None if row is None else TokenGrant(row.organization_id)

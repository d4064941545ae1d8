"""Users of the web UI: accounts, organisation memberships, sessions, sign-in throttling.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
parameter set). Sessions live server-side; the cookie holds a random id of which only the
sha256 is stored.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from vedette.domain.roles import Role, at_least
from vedette.storage import accounts
from vedette.storage.dialect import insert_ignore
from vedette.storage.schema import (
    instance_secrets,
    memberships,
    organizations,
    team_members,
    team_projects,
    users,
    web_sessions,
)

SESSION_SECONDS = 14 * 86400
# OWASP's suggestion for online guessing: a handful of tries per account and address, then wait.
FIRST_ADMIN_EMAIL = "admin@localhost"

_hasher = PasswordHasher()


def use_password_hashing(memory_kib: int, iterations: int) -> None:
    """Hash passwords of this process with these argon2id costs (the server's settings)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=iterations, memory_cost=memory_kib)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the email is unknown, so that a wrong email costs as much as a
    wrong password (no user enumeration by timing). Made on first use, not on import: every
    process imports this module (the spool worker too), few of them sign anyone in."""
    return hasher.hash(secrets.token_hex(16))


class UserError(ValueError):
    """A user cannot be created as asked (bad email, short password, taken)."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    is_superuser: bool
    organization_ids: frozenset[int]
    roles: Mapping[int, Role] = field(default_factory=dict)  # organisation id -> role
    # Organisations without open membership, and the projects of the user's teams.
    closed_organizations: frozenset[int] = frozenset()
    team_project_ids: frozenset[int] = frozenset()

    def may_read(self, organization_id: int) -> bool:
        return self.is_superuser or organization_id in self.organization_ids

    def may_see_project(self, organization_id: int, project_id: int) -> bool:
        """Members see every project of their organisation, or with open membership off only
        their teams' projects; admins and above see all."""
        if not self.may_read(organization_id):
            return False
        return (
            organization_id not in self.closed_organizations
            or at_least(self.role_in(organization_id), Role.ADMIN)
            or project_id in self.team_project_ids
        )

    def role_in(self, organization_id: int) -> Role | None:
        """Superusers are owners everywhere; None: not a member."""
        return Role.OWNER if self.is_superuser else self.roles.get(organization_id)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check_new(email: str, password: str) -> str:
    address = normalize_email(email)
    local, at, domain = address.partition("@")
    if not at or not local or not domain or len(address) > 254 or any(c.isspace() for c in address):
        raise UserError(f"not an email address: {email!r}")
    if len(password) < 8:
        raise UserError("the password must have at least 8 characters")
    return address


def create_user(
    conn: Connection,
    email: str,
    password: str,
    org_slugs: list[str] = [],  # noqa: B006 (never mutated)
    is_superuser: bool = False,
    role: Role = Role.MEMBER,
) -> User:
    address = _check_new(email, password)
    now = time.time()
    try:
        with conn.begin_nested():
            user_id = int(
                conn.execute(
                    users.insert()
                    .values(
                        email=address,
                        password_hash=_hasher.hash(password),
                        is_superuser=is_superuser,
                        created_at=now,
                    )
                    .returning(users.c.id)
                ).scalar_one()
            )
    except IntegrityError as exc:
        raise UserError(f"a user {address} exists already") from exc
    org_ids = [accounts.ensure_organization(conn, slug) for slug in org_slugs]
    for org_id in org_ids:
        conn.execute(
            insert_ignore(conn, memberships).values(
                user_id=user_id, organization_id=org_id, created_at=now, role=role.value
            )
        )
    return User(user_id, address, is_superuser, frozenset(org_ids), dict.fromkeys(org_ids, role))


def add_membership(conn: Connection, user_id: int, org_slug: str, role: Role = Role.MEMBER) -> None:
    org_id = accounts.ensure_organization(conn, org_slug)
    conn.execute(
        insert_ignore(conn, memberships).values(
            user_id=user_id, organization_id=org_id, created_at=time.time(), role=role.value
        )
    )


def set_role(conn: Connection, user_id: int, organization_id: int, role: Role) -> bool:
    done = conn.execute(
        update(memberships)
        .where(memberships.c.user_id == user_id, memberships.c.organization_id == organization_id)
        .values(role=role.value)
    )
    return done.rowcount > 0


def members_of(conn: Connection, organization_id: int) -> list[tuple[int, str, float, Role]]:
    """(user id, email, member since, role) of the organisation's members, by email."""
    rows = conn.execute(
        select(users.c.id, users.c.email, memberships.c.created_at, memberships.c.role)
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(memberships.c.organization_id == organization_id)
        .order_by(users.c.email)
    )
    return [(int(r[0]), str(r[1]), float(r[2]), Role(r[3])) for r in rows]


def remove_membership(conn: Connection, user_id: int, organization_id: int) -> bool:
    done = conn.execute(
        delete(memberships).where(
            memberships.c.user_id == user_id, memberships.c.organization_id == organization_id
        )
    )
    return done.rowcount > 0


def set_password(conn: Connection, email: str, password: str) -> bool:
    _check_new(email, password)
    result = conn.execute(
        update(users)
        .where(users.c.email == normalize_email(email))
        .values(password_hash=_hasher.hash(password))
    )
    return result.rowcount > 0


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def create_first_admin(conn: Connection) -> tuple[str, str] | None:
    """On a database without users: a superuser with a random password, returned once as
    (email, password). None when users exist (or another process created one first)."""
    if count_users(conn) > 0:
        return None
    password = secrets.token_urlsafe(12)
    try:
        create_user(conn, FIRST_ADMIN_EMAIL, password, is_superuser=True)
    except UserError:
        return None  # a concurrent `serve` won the race; its output has the password
    return FIRST_ADMIN_EMAIL, password


def _load(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(
        select(users.c.id, users.c.email, users.c.is_superuser).where(users.c.id == user_id)
    ).one_or_none()
    if row is None:
        return None
    roles = {
        int(org): Role(role)
        for org, role in conn.execute(
            select(memberships.c.organization_id, memberships.c.role).where(
                memberships.c.user_id == user_id
            )
        )
    }
    closed = conn.execute(
        select(organizations.c.id).where(
            organizations.c.id.in_(sorted(roles)), organizations.c.open_membership.is_(False)
        )
    ).scalars()
    teams_projects = conn.execute(
        select(team_projects.c.project_id)
        .join(team_members, team_members.c.team_id == team_projects.c.team_id)
        .where(team_members.c.user_id == user_id)
    ).scalars()
    return User(
        row.id, row.email, bool(row.is_superuser), frozenset(roles), roles,
        frozenset(int(o) for o in closed), frozenset(int(p) for p in teams_projects),
    )  # fmt: skip


def get_user_by_id(conn: Connection, user_id: int) -> User | None:
    return _load(conn, user_id)


def get_user(conn: Connection, email: str) -> User | None:
    user_id = conn.execute(
        select(users.c.id).where(users.c.email == normalize_email(email))
    ).scalar_one_or_none()
    return None if user_id is None else _load(conn, int(user_id))


def authenticate(conn: Connection, email: str, password: str) -> User | None:
    """The user when the password matches; rehashes when argon2's parameters changed."""
    row = conn.execute(
        select(users.c.id, users.c.password_hash).where(users.c.email == normalize_email(email))
    ).one_or_none()
    stored = row.password_hash if row is not None else None
    if stored is None or not stored.startswith("$argon2"):
        # No user, or one without a password (made by single sign-on): the same argon2 work
        # as a wrong password, so the answer's time does not tell which.
        stored, row = _dummy_hash(_hasher), None
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    values: dict[str, object] = {"last_login": time.time()}
    if _hasher.check_needs_rehash(stored):
        values["password_hash"] = _hasher.hash(password)
    conn.execute(update(users).where(users.c.id == row.id).values(**values))
    return _load(conn, int(row.id))


# -- sessions -----------------------------------------------------------------------------------


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str


def start_session(conn: Connection, user_id: int, now: float) -> str:
    """A new session; returns its id (for the cookie). Expired sessions are swept here."""
    conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
    session_id = secrets.token_urlsafe(32)
    conn.execute(
        web_sessions.insert().values(
            id_hash=_hash(session_id),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_SECONDS,
        )
    )
    return session_id


def load_session(conn: Connection, session_id: str, now: float) -> Session | None:
    row = conn.execute(
        select(web_sessions.c.user_id, web_sessions.c.csrf_token).where(
            web_sessions.c.id_hash == _hash(session_id), web_sessions.c.expires_at > now
        )
    ).one_or_none()
    if row is None:
        return None
    user = _load(conn, int(row.user_id))
    return None if user is None else Session(user, row.csrf_token)


def end_session(conn: Connection, session_id: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == _hash(session_id)))


# -- what a user may see ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Organization:
    id: int
    slug: str


def visible_organizations(conn: Connection, user: User) -> list[Organization]:
    stmt = select(organizations.c.id, organizations.c.slug).order_by(organizations.c.slug)
    if not user.is_superuser:
        stmt = stmt.where(organizations.c.id.in_(sorted(user.organization_ids)))
    return [Organization(int(r.id), r.slug) for r in conn.execute(stmt)]


# -- instance secrets ---------------------------------------------------------------------------


def instance_secret(conn: Connection, name: str) -> str:
    """A random secret made on first use and then shared by every process of this database."""
    conn.execute(
        insert_ignore(conn, instance_secrets).values(name=name, value=secrets.token_urlsafe(48))
    )
    return str(
        conn.execute(
            select(instance_secrets.c.value).where(instance_secrets.c.name == name)
        ).scalar_one()
    )

"""Single sign-on accounts: who a provider's account is here, and the sign-ins under way.

An OpenID provider names a person by (issuer, subject) for good; the email may change. The
first sign-in of a subject links it to the user of its email, or makes that user (without a
password) as a member of the configured organisation; later sign-ins find the user by the
link alone. (Not to be confused with ``user_identities``: the users of events.)
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from vedette.domain.roles import Role
from vedette.storage import users
from vedette.storage.schema import oidc_identities, oidc_login_attempts, organizations
from vedette.storage.schema import users as users_table

# An organisation role for the organisation's new members, or superuser: owner everywhere.
ProvisionedRole = Literal["viewer", "member", "admin", "manager", "owner", "superuser"]
# Not an argon2 hash: password sign-in can never match it (argon2 rejects it as invalid).
NO_PASSWORD = "!sso"
LOGIN_ATTEMPT_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified ID token says about its subject."""

    issuer: str
    subject: str
    email: str
    # True only when the provider said so: an existing user is linked by email only then
    # (a provider that lets people type any email would otherwise hand out accounts here).
    email_verified: bool


@dataclass(frozen=True, slots=True)
class Provisioning:
    """Where first sign-ins land: a member of this organisation, with this role."""

    organization: str
    role: ProvisionedRole

    @property
    def membership_role(self) -> Role:
        return Role.OWNER if self.role == "superuser" else Role(self.role)


def sign_in(conn: Connection, claims: Claims, provisioning: Provisioning, now: float) -> int:
    """The id of the user ``claims`` speak for: linked before, linked now to the user of the
    (verified) email, or created now. Raises ``UserError`` when the email belongs to a user it
    may not be linked to."""
    linked = conn.execute(
        select(oidc_identities.c.user_id).where(
            oidc_identities.c.issuer == claims.issuer,
            oidc_identities.c.subject == claims.subject,
        )
    ).scalar_one_or_none()
    if linked is not None:
        conn.execute(
            update(oidc_identities)
            .where(oidc_identities.c.issuer == claims.issuer)
            .where(oidc_identities.c.subject == claims.subject)
            .values(email=claims.email, last_login=now)
        )
        _touch(conn, int(linked), now)
        return int(linked)
    existing = users.get_user(conn, claims.email)
    if existing is not None and not claims.email_verified:
        raise users.UserError(
            f"a user {claims.email} exists already, and the provider does not say the email"
            " is verified: not linked"
        )
    if existing is not None and existing.is_superuser:
        # The operator's own way in stays theirs: whoever controls the address at the provider
        # would otherwise hold every organisation, past the password and any second factor.
        raise users.UserError(f"{claims.email} is a superuser: never linked by email")
    user_id = existing.id if existing is not None else _create_user(conn, claims, provisioning)
    users.add_membership(conn, user_id, provisioning.organization, provisioning.membership_role)
    conn.execute(
        oidc_identities.insert().values(
            issuer=claims.issuer,
            subject=claims.subject,
            user_id=user_id,
            email=claims.email,
            created_at=now,
            last_login=now,
        )
    )
    _touch(conn, user_id, now)
    return user_id


def _create_user(conn: Connection, claims: Claims, provisioning: Provisioning) -> int:
    try:
        with conn.begin_nested():
            return int(
                conn.execute(
                    users_table.insert()
                    .values(
                        email=users.normalize_email(claims.email),
                        password_hash=NO_PASSWORD,
                        is_superuser=provisioning.role == "superuser",
                        created_at=time.time(),
                    )
                    .returning(users_table.c.id)
                ).scalar_one()
            )
    except IntegrityError as exc:  # a concurrent first sign-in of the same email
        raise users.UserError(f"a user {claims.email} exists already") from exc


def _touch(conn: Connection, user_id: int, now: float) -> None:
    conn.execute(update(users_table).where(users_table.c.id == user_id).values(last_login=now))


def password_refused(conn: Connection, user: users.User, organization: str) -> bool:
    """Whether "SSO only" keeps ``user`` from signing in with a password: members of the
    organisation are refused, superusers (the operator's way back in) never."""
    if user.is_superuser:
        return False
    org_id = conn.execute(
        select(organizations.c.id).where(organizations.c.slug == organization)
    ).scalar_one_or_none()
    return org_id is not None and int(org_id) in user.organization_ids


# -- sign-ins under way -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    nonce: str
    code_verifier: str
    next_path: str


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def start_login(conn: Connection, state: str, attempt: LoginAttempt, now: float) -> None:
    """Remember a sign-in sent to the provider (expired ones are swept here)."""
    conn.execute(delete(oidc_login_attempts).where(oidc_login_attempts.c.expires_at <= now))
    conn.execute(
        oidc_login_attempts.insert().values(
            state_hash=_hash(state),
            nonce=attempt.nonce,
            code_verifier=attempt.code_verifier,
            next_path=attempt.next_path,
            expires_at=now + LOGIN_ATTEMPT_SECONDS,
        )
    )


def take_login(conn: Connection, state: str, now: float) -> LoginAttempt | None:
    """The sign-in of ``state``, deleted as it is read (in one statement, so that of two
    callbacks racing with one state only one gets it): each state is good once."""
    row = conn.execute(
        delete(oidc_login_attempts)
        .where(oidc_login_attempts.c.state_hash == _hash(state))
        .returning(
            oidc_login_attempts.c.nonce,
            oidc_login_attempts.c.code_verifier,
            oidc_login_attempts.c.next_path,
            oidc_login_attempts.c.expires_at,
        )
    ).one_or_none()
    if row is None or row.expires_at <= now:
        return None
    return LoginAttempt(row.nonce, row.code_verifier, row.next_path)

"""Single sign-on accounts on both engines: provisioning, linking, the SSO-only rule and the
sign-ins under way (good once, for a while)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from vedette.domain.roles import Role
from vedette.storage import accounts, identities, users
from vedette.storage.database import Database
from vedette.storage.identities import Claims, LoginAttempt, Provisioning
from vedette.storage.schema import oidc_identities

ISSUER = "https://idp.example"
NOW = 1_000_000.0  # sign-ins take their clock as an argument: any instant does
TEAM = Provisioning("team", "member")


def claims(email: str, subject: str = "s-1", verified: bool = True) -> Claims:
    return Claims(ISSUER, subject, email, verified)


@pytest.mark.parametrize(
    ("role", "superuser", "membership"),
    [("member", False, Role.MEMBER), ("viewer", False, Role.VIEWER),
     ("admin", False, Role.ADMIN), ("superuser", True, Role.OWNER)],
)  # fmt: skip
def test_a_first_sign_in_makes_a_member_without_password(
    db: Database, role: identities.ProvisionedRole, superuser: bool, membership: Role
) -> None:
    with db.write() as conn:
        provisioning = Provisioning("team", role)
        user_id = identities.sign_in(conn, claims("New@Example.com"), provisioning, NOW)
        user = users.get_user(conn, "new@example.com")
        assert user is not None and user.id == user_id
        assert user.is_superuser is superuser
        team = accounts.ensure_organization(conn, "team")
        assert user.organization_ids == {team}
        assert user.roles[team] == membership
        assert users.authenticate(conn, "new@example.com", identities.NO_PASSWORD) is None
        assert users.authenticate(conn, "new@example.com", "") is None


def test_the_subject_not_the_email_names_the_user(db: Database) -> None:
    with db.write() as conn:
        first = identities.sign_in(conn, claims("before@example.com"), TEAM, NOW)
        again = identities.sign_in(conn, claims("after@example.com"), TEAM, NOW + 1)
        other = identities.sign_in(conn, claims("after@example.com", subject="s-2"), TEAM, NOW)
        assert again == first
        assert other != first  # another person, who has the email now
        stored = conn.execute(
            select(oidc_identities.c.email).where(oidc_identities.c.subject == "s-1")
        ).scalar_one()
        assert stored == "after@example.com"


def test_an_existing_user_is_linked_by_a_verified_email(db: Database) -> None:
    with db.write() as conn:
        existing = users.create_user(conn, "known@example.com", "a long password", ["other"])
        assert identities.sign_in(conn, claims("known@example.com"), TEAM, NOW) == existing.id
        user = users.get_user(conn, "known@example.com")
        assert user is not None and len(user.organization_ids) == 2  # "other" and "team"
        assert users.authenticate(conn, "known@example.com", "a long password") is not None


def test_an_existing_user_is_not_linked_by_an_email_not_said_verified(db: Database) -> None:
    with db.write() as conn:
        users.create_user(conn, "known@example.com", "a long password", ["other"])
        unverified = claims("known@example.com", verified=False)
        with pytest.raises(users.UserError):
            identities.sign_in(conn, unverified, TEAM, NOW)


def test_a_superuser_is_never_linked_by_email(db: Database) -> None:
    """Whoever holds the address at the provider would hold every organisation, past the
    operator's password and second factor."""
    with db.write() as conn:
        users.create_user(conn, "boss@example.com", "a long password", [], is_superuser=True)
        with pytest.raises(users.UserError, match="superuser"):
            identities.sign_in(conn, claims("Boss@Example.com"), TEAM, NOW)
        linked = conn.execute(select(oidc_identities.c.user_id)).all()
        assert linked == []


@pytest.mark.parametrize(
    ("orgs", "superuser", "refused"),
    [
        (["team"], False, True),
        (["team"], True, False),  # the operator's way back in
        (["other"], False, False),
        ([], False, False),
    ],
)
def test_sso_only_refuses_passwords_to_members_of_the_organization(
    db: Database, orgs: list[str], superuser: bool, refused: bool
) -> None:
    with db.write() as conn:
        user = users.create_user(conn, "y@example.com", "a long password", orgs, superuser)
        assert identities.password_refused(conn, user, "team") is refused
        assert identities.password_refused(conn, user, "no-such-org") is False


def test_a_sign_in_under_way_is_good_once_and_for_a_while(db: Database) -> None:
    attempt = LoginAttempt("nonce", "verifier", "/next/")
    states = [uuid.uuid4().hex for _ in range(3)]
    with db.write() as conn:
        for state in states:
            identities.start_login(conn, state, attempt, NOW)
        assert identities.take_login(conn, states[0], NOW + 1) == attempt
        assert identities.take_login(conn, states[0], NOW + 2) is None  # used
        assert identities.take_login(conn, "never-issued", NOW + 1) is None
        late = NOW + identities.LOGIN_ATTEMPT_SECONDS
        assert identities.take_login(conn, states[1], late) is None  # expired
        assert identities.take_login(conn, states[2], late - 1) == attempt

"""API tokens and what they grant (docs/workflow.md, "API tokens").

Three kinds, told apart by their columns:

- an operator token (no organisation, no user; ``vedette token create``): every scope in every
  organisation, and the instance's internals;
- an organisation token (``vedette token create --org``): every scope, or the read scopes, in
  one organisation;
- a user's token (made on the tokens page or ``vedette token create --user``): the scopes chosen
  for it in one organisation, cut down on every request to what the user's role there allows.

Only a token's sha256 is stored: a leaked database does not leak usable tokens.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select, update

from vedette.domain.scopes import ALL_SCOPES, READ_SCOPES, Scope, effective_scopes, parse_scopes
from vedette.storage import users
from vedette.storage.schema import api_tokens, organizations
from vedette.storage.schema import users as users_table


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _stored(scopes: frozenset[Scope] | None) -> str | None:
    return None if scopes is None else " ".join(sorted(scopes))


def _scopes(stored: str | None, read_only: bool) -> frozenset[Scope]:
    """A token's own scopes; tokens made before scopes existed hold all, or the read ones."""
    if stored is not None:
        return parse_scopes(stored.split())
    return READ_SCOPES if read_only else ALL_SCOPES


def create_token(
    conn: Connection,
    label: str = "",
    organization_id: int | None = None,
    *,
    read_only: bool = False,
    user_id: int | None = None,
    scopes: frozenset[Scope] | None = None,
) -> str:
    """A new token, returned this once. A user's token must name its organisation and scopes."""
    if user_id is not None and (organization_id is None or scopes is None):
        raise ValueError("a user's token belongs to one organisation and names its scopes")
    token = "vdt_" + secrets.token_hex(24)
    conn.execute(
        api_tokens.insert().values(
            token_hash=hash_token(token),
            label=label,
            organization_id=organization_id,
            created_at=time.time(),
            read_only=read_only if scopes is None else scopes <= READ_SCOPES,
            user_id=user_id,
            scopes=_stored(scopes),
        )
    )
    return token


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    label: str
    organization_id: int | None
    organization_slug: str | None
    user_id: int | None
    user_email: str | None
    scopes: frozenset[Scope]
    created_at: float
    revoked_at: float | None


def list_tokens(conn: Connection) -> list[TokenRow]:
    rows = conn.execute(
        select(
            api_tokens,
            organizations.c.slug.label("org_slug"),
            users_table.c.email.label("user_email"),
        )
        .outerjoin(organizations, organizations.c.id == api_tokens.c.organization_id)
        .outerjoin(users_table, users_table.c.id == api_tokens.c.user_id)
        .order_by(api_tokens.c.id)
    )
    return [_token_row(r) for r in rows]


def _token_row(r: Row[Any]) -> TokenRow:
    scopes = _scopes(r.scopes, bool(r.read_only))
    return TokenRow(r.id, r.label, r.organization_id, r.org_slug, r.user_id, r.user_email,
                    scopes, r.created_at, r.revoked_at)  # fmt: skip


def revoke_token(conn: Connection, token_id: int) -> bool:
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=time.time())
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """Who a token speaks for, and what the request being served needs (``needed``: any one of
    those scopes; empty when the route needs none)."""

    organization_id: int | None  # None: every organisation (operator tokens)
    scopes: frozenset[Scope]
    user: users.User | None = None
    needed: frozenset[Scope] = frozenset()

    @property
    def is_operator(self) -> bool:
        return self.organization_id is None and self.user is None

    def scopes_in(self, organization_id: int) -> frozenset[Scope]:
        """What the token may do in the organisation (nothing: it may not see it)."""
        if self.organization_id is not None and self.organization_id != organization_id:
            return frozenset()
        if self.user is None:
            return self.scopes
        return effective_scopes(self.scopes, self.user.role_in(organization_id))

    def may_read(self, organization_id: int) -> bool:
        return bool(self.scopes_in(organization_id))

    def may_see_project(self, organization_id: int, project_id: int) -> bool:
        """A user's token sees the projects the user sees (teams, open membership)."""
        return self.may_read(organization_id) and (
            self.user is None or self.user.may_see_project(organization_id, project_id)
        )

    def allows(self, organization_id: int) -> bool:
        """Whether the token holds a scope the request needs, in that organisation."""
        return not self.needed or bool(self.needed & self.scopes_in(organization_id))


def authenticate_token(conn: Connection, token: str) -> TokenGrant | None:
    """The grant of a live token; None for an unknown or revoked one, or a user's token whose
    user is gone."""
    row = conn.execute(
        select(
            api_tokens.c.organization_id, api_tokens.c.read_only, api_tokens.c.user_id,
            api_tokens.c.scopes,
        ).where(api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None))
    ).one_or_none()  # fmt: skip
    if row is None:
        return None
    scopes = _scopes(row.scopes, bool(row.read_only))
    if row.user_id is None:
        return TokenGrant(row.organization_id, scopes)
    user = users.get_user_by_id(conn, int(row.user_id))
    return None if user is None else TokenGrant(row.organization_id, scopes, user)

"""One-time links sent by email: invitations to an organisation (good for 7 days) and password
resets (good for an hour). The link carries a random token; only its sha256 is stored, and
taking a token marks it used in the same statement, so a link works once even when two
requests race (docs/workflow.md, "Members")."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from vedette.storage.schema import account_tokens, web_sessions

INVITE_SECONDS = 7 * 86400
RESET_SECONDS = 3600
# At most one reset link an hour per address (a form anyone may post must not mail-bomb).
RESETS_PER_HOUR = 1


class TokenKind(StrEnum):
    INVITE = "invite"
    RESET = "reset"


_LIFETIMES = {TokenKind.INVITE: INVITE_SECONDS, TokenKind.RESET: RESET_SECONDS}


@dataclass(frozen=True, slots=True)
class AccountToken:
    id: int
    kind: str
    email: str
    organization_id: int | None
    created_at: float
    expires_at: float
    role: str | None  # invite: the role it gives


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    conn: Connection,
    kind: TokenKind,
    email: str,
    now: float,
    organization_id: int | None = None,
    created_by: int | None = None,
    role: str | None = None,
) -> str:
    """A new token for ``email``; the token itself (for the link), never stored."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(account_tokens).values(
            kind=kind.value, token_hash=_hash(token), email=email,
            organization_id=organization_id, created_by=created_by, created_at=now,
            expires_at=now + _LIFETIMES[kind], role=role,
        )
    )  # fmt: skip
    return token


def _usable(kind: TokenKind, token: str, now: float) -> tuple[ColumnElement[bool], ...]:
    return (
        account_tokens.c.kind == kind.value,
        account_tokens.c.token_hash == _hash(token),
        account_tokens.c.used_at.is_(None),
        account_tokens.c.expires_at > now,
    )


_COLUMNS = (
    account_tokens.c.id, account_tokens.c.kind, account_tokens.c.email,
    account_tokens.c.organization_id, account_tokens.c.created_at, account_tokens.c.expires_at,
    account_tokens.c.role,
)  # fmt: skip


def peek(conn: Connection, kind: TokenKind, token: str, now: float) -> AccountToken | None:
    """The token's details while it is usable (not used, not expired); nothing is changed."""
    row = conn.execute(select(*_COLUMNS).where(*_usable(kind, token, now))).one_or_none()
    return None if row is None else AccountToken(*row)


def take(conn: Connection, kind: TokenKind, token: str, now: float) -> AccountToken | None:
    """Use the token: its details, or None when it is unknown, used or expired."""
    row = conn.execute(
        update(account_tokens)
        .where(*_usable(kind, token, now))
        .values(used_at=now)
        .returning(*_COLUMNS)
    ).one_or_none()
    return None if row is None else AccountToken(*row)


def recent_resets(conn: Connection, email: str, now: float) -> int:
    rows = conn.execute(
        select(account_tokens.c.id).where(
            account_tokens.c.kind == TokenKind.RESET.value,
            account_tokens.c.email == email,
            account_tokens.c.created_at > now - 3600,
        )
    ).all()
    return len(rows)


def pending_invitations(conn: Connection, organization_id: int, now: float) -> list[AccountToken]:
    rows = conn.execute(
        select(*_COLUMNS)
        .where(
            account_tokens.c.kind == TokenKind.INVITE.value,
            account_tokens.c.organization_id == organization_id,
            account_tokens.c.used_at.is_(None),
            account_tokens.c.expires_at > now,
        )
        .order_by(account_tokens.c.id)
    )
    return [AccountToken(*r) for r in rows]


def revoke_invitation(conn: Connection, organization_id: int, invitation_id: int) -> bool:
    done = conn.execute(
        delete(account_tokens).where(
            account_tokens.c.id == invitation_id,
            account_tokens.c.kind == TokenKind.INVITE.value,
            account_tokens.c.organization_id == organization_id,
        )
    )
    return done.rowcount > 0


def end_sessions(conn: Connection, user_id: int) -> None:
    """Sign the user out everywhere (after their password was reset)."""
    conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))

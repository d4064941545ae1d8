"""A user's second factor: setting it up, checking a code (once), recovery codes (once each),
turning it off (docs/workflow.md, "Two-factor sign-in")."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update

from vedette.domain import second_factor
from vedette.storage.schema import recovery_codes, user_totp


def is_enabled(conn: Connection, user_id: int) -> bool:
    return (
        conn.execute(
            select(user_totp.c.user_id).where(
                user_totp.c.user_id == user_id, user_totp.c.confirmed_at.is_not(None)
            )
        ).first()
        is not None
    )


def start_setup(conn: Connection, user_id: int, now: float) -> str | None:
    """A new secret waiting for its first code (an earlier set-up is replaced); None while a
    factor is on: turning it off takes the password (``disable`` after checking it)."""
    if is_enabled(conn, user_id):
        return None
    secret = second_factor.new_secret()
    disable(conn, user_id)
    conn.execute(insert(user_totp).values(user_id=user_id, secret=secret, created_at=now))
    return secret


def pending_secret(conn: Connection, user_id: int) -> str | None:
    found = conn.execute(
        select(user_totp.c.secret).where(
            user_totp.c.user_id == user_id, user_totp.c.confirmed_at.is_(None)
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)


def confirm(conn: Connection, user_id: int, code: str, now: float) -> list[str] | None:
    """Turn the factor on when ``code`` is the set-up secret's; the recovery codes (shown once:
    only their hashes are kept), or None when the code is wrong."""
    secret = pending_secret(conn, user_id)
    step = None if secret is None else second_factor.matched_step(secret, code, now, None)
    if step is None:
        return None
    conn.execute(
        update(user_totp)
        .where(user_totp.c.user_id == user_id)
        .values(confirmed_at=now, last_step=step)
    )
    codes = second_factor.new_recovery_codes()
    conn.execute(
        insert(recovery_codes),
        [{"user_id": user_id, "code_hash": second_factor.recovery_hash(c)} for c in codes],
    )
    return codes


def verify(conn: Connection, user_id: int, code: str, now: float) -> bool:
    """Whether ``code`` is a current code not used before, or an unused recovery code; either
    is used up here (the row lock keeps two sign-ins from both using one)."""
    row = conn.execute(
        select(user_totp.c.secret, user_totp.c.last_step)
        .where(user_totp.c.user_id == user_id, user_totp.c.confirmed_at.is_not(None))
        .with_for_update()
    ).one_or_none()
    if row is None:
        return False
    step = second_factor.matched_step(row.secret, code, now, row.last_step)
    if step is not None:
        conn.execute(update(user_totp).where(user_totp.c.user_id == user_id).values(last_step=step))
        return True
    used = conn.execute(
        update(recovery_codes)
        .where(
            recovery_codes.c.user_id == user_id,
            recovery_codes.c.code_hash == second_factor.recovery_hash(code),
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return used.rowcount > 0


def recovery_codes_left(conn: Connection, user_id: int) -> int:
    rows = conn.execute(
        select(recovery_codes.c.id).where(
            recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
        )
    ).all()
    return len(rows)


def disable(conn: Connection, user_id: int) -> None:
    conn.execute(delete(user_totp).where(user_totp.c.user_id == user_id))
    conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))

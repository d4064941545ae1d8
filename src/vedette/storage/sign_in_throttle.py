"""Failed sign-ins, counted per subject: five within 15 minutes and the subject waits.

Two kinds of subject. A password's is the email with the client's address: one address cannot
try many passwords, and a user is not locked out by someone else's typing elsewhere. A second
factor's is the user alone: whoever reaches the code step knows the password already and may
have many addresses. A right password clears its own subject, never the code's.

``throttled`` is asked in the write transaction of the attempt it guards, and it serialises the
attempts on one subject (SQLite runs one write transaction at a time; PostgreSQL takes an
advisory lock on the subject until the transaction ends), so parallel attempts cannot all pass
the check before any failure is counted.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, func, select

from vedette.storage.dialect import transaction_lock
from vedette.storage.schema import login_failures
from vedette.storage.users import normalize_email

MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60
_KEPT_SECONDS = 86400


def password_subject(email: str, client_ip: str) -> str:
    return hashlib.sha256(f"{normalize_email(email)}|{client_ip}".encode()).hexdigest()


def code_subject(email: str) -> str:
    return hashlib.sha256(f"second factor|{normalize_email(email)}".encode()).hexdigest()


def throttled(conn: Connection, subject: str, now: float) -> bool:
    transaction_lock(conn, int.from_bytes(bytes.fromhex(subject[:16]), "big", signed=True))
    recent = conn.execute(
        select(func.count())
        .select_from(login_failures)
        .where(
            login_failures.c.subject == subject,
            login_failures.c.failed_at > now - FAILURE_WINDOW_SECONDS,
        )
    ).scalar_one()
    return int(recent) >= MAX_FAILURES


def record_failure(conn: Connection, subject: str, now: float) -> None:
    conn.execute(login_failures.delete().where(login_failures.c.failed_at <= now - _KEPT_SECONDS))
    conn.execute(login_failures.insert().values(subject=subject, failed_at=now))


def clear_failures(conn: Connection, subject: str) -> None:
    conn.execute(login_failures.delete().where(login_failures.c.subject == subject))

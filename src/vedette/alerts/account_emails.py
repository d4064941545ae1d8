"""Account emails (an invitation to an organisation, a password reset link) through the
notification outbox: queued in the transaction that created the link, delivered by the
dispatcher with retries like any email alert, so a link decided is never lost."""

from __future__ import annotations

from sqlalchemy import Connection

from vedette.alerts import compose
from vedette.alerts.message import Action, Message, MessageKind
from vedette.storage import alert_outbox
from vedette.storage.alert_outbox import NewNotification


def queue(conn: Connection, email: str, title: str, text: str, url: str, now: float) -> None:
    """One email to ``email``: ``title`` as its subject line, ``text`` above the link."""
    uid = compose.new_id()
    message = Message(
        id=uid,
        kind=MessageKind.ACCOUNT,
        action=Action.TRIGGER,
        organization="",
        project="",
        project_id=0,
        project_name="",
        rule_name="",
        rule_id=None,
        title=title,
        reason=text,
        url=url,
        level="info",
    )
    notification = NewNotification(
        uid, None, None, None, None, f"email:{email}", None, message.to_json()
    )
    alert_outbox.enqueue(conn, [notification], now)


def invitation(
    conn: Connection, email: str, organization: str, invited_by: str, url: str, now: float
) -> None:
    queue(
        conn,
        email,
        f"Join {organization} on Vedette",
        f"{invited_by} invited you to the organisation {organization}. The link works once, "
        "for 7 days.",
        url,
        now,
    )


def password_reset(conn: Connection, email: str, url: str, now: float) -> None:
    queue(
        conn,
        email,
        "Reset your Vedette password",
        "Someone (you, we hope) asked to reset the password of this address. The link works "
        "once, for an hour; your password stays as it is until you use it.",
        url,
        now,
    )

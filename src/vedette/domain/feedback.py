"""User feedback as Sentry's REST API and the legacy ``user_report`` item carry it:
``{event_id, name, email, comments}``, checked and trimmed the same way wherever it comes from
(docs/logs.md, "User feedback")."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from vedette.domain.envelope import normalize_event_id
from vedette.domain.processed import UserFeedback

MAX_NAME_CHARS = 128
MAX_EMAIL_CHARS = 75
MAX_COMMENTS_CHARS = 8192
MAX_URL_CHARS = 1024


class InvalidFeedback(Exception):
    """The item cannot be kept; the message is the outcome's reason."""


def text(value: object, cap: int) -> str:
    return value.strip()[:cap] if isinstance(value, str) else ""


def optional_text(value: object, cap: int) -> str | None:
    return text(value, cap) or None


def report_id(event_id: str, name: str, email: str, comments: str) -> str:
    """A user report's id: the same report sent twice (or re-delivered) is stored once."""
    key = f"user_report:{event_id}:{name}:{email}:{comments}"
    return hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()


def user_report(payload: Mapping[str, Any], received: float, source: str) -> UserFeedback:
    """A legacy report, as the ``user_report`` item and Sentry's REST endpoints carry it."""
    event_id = normalize_event_id(payload.get("event_id"))
    if event_id is None:
        raise InvalidFeedback("missing_event_id")
    comments = text(payload.get("comments"), MAX_COMMENTS_CHARS)
    if not comments:
        raise InvalidFeedback("missing_comments")
    name = text(payload.get("name"), MAX_NAME_CHARS)
    email = text(payload.get("email"), MAX_EMAIL_CHARS)
    return UserFeedback(
        feedback_id=report_id(event_id, name, email, comments),
        source=source,
        event_id=event_id,
        name=name,
        email=email,
        comments=comments,
        url=None,
        release=None,
        environment=None,
        timestamp=received,
    )

"""User feedback from its two item types into one shape (docs/logs.md, "User feedback").

- ``feedback``: an event whose ``contexts.feedback`` holds ``message``, ``contact_email``,
  ``name``, ``url`` and ``associated_event_id`` (the browser widget and ``captureFeedback``);
- ``user_report``: the legacy ``{event_id, name, email, comments}``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from vedette.domain.envelope import normalize_event_id
from vedette.domain.processed import UserFeedback
from vedette.processing.timestamps import parse_timestamp

MAX_NAME_CHARS = 128
MAX_EMAIL_CHARS = 75
MAX_COMMENTS_CHARS = 8192
MAX_URL_CHARS = 1024


class InvalidFeedback(Exception):
    """The item cannot be kept; the message is the outcome's reason."""


def _text(value: object, cap: int) -> str:
    return value.strip()[:cap] if isinstance(value, str) else ""


def _optional(value: object, cap: int) -> str | None:
    return _text(value, cap) or None


def report_id(event_id: str, name: str, email: str, comments: str) -> str:
    """A user report's id: the same report sent twice (or re-delivered) is stored once."""
    key = f"user_report:{event_id}:{name}:{email}:{comments}"
    return hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()


def user_report(payload: Mapping[str, Any], received: float, source: str) -> UserFeedback:
    """A legacy report, as the ``user_report`` item and Sentry's REST endpoints carry it."""
    event_id = normalize_event_id(payload.get("event_id"))
    if event_id is None:
        raise InvalidFeedback("missing_event_id")
    comments = _text(payload.get("comments"), MAX_COMMENTS_CHARS)
    if not comments:
        raise InvalidFeedback("missing_comments")
    name = _text(payload.get("name"), MAX_NAME_CHARS)
    email = _text(payload.get("email"), MAX_EMAIL_CHARS)
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


def feedback_event(
    payload: Mapping[str, Any], envelope_event_id: str | None, received: float
) -> UserFeedback:
    """The new format: a ``feedback`` event with ``contexts.feedback``."""
    contexts = payload.get("contexts")
    context = contexts.get("feedback") if isinstance(contexts, Mapping) else None
    if not isinstance(context, Mapping):
        raise InvalidFeedback("missing_feedback_context")
    message = _text(context.get("message"), MAX_COMMENTS_CHARS)
    if not message:
        raise InvalidFeedback("missing_feedback_message")
    raw_user = payload.get("user")
    user: Mapping[str, Any] = raw_user if isinstance(raw_user, Mapping) else {}
    name = _text(context.get("name"), MAX_NAME_CHARS) or _text(
        user.get("name") or user.get("username"), MAX_NAME_CHARS
    )
    email = _text(context.get("contact_email"), MAX_EMAIL_CHARS) or _text(
        user.get("email"), MAX_EMAIL_CHARS
    )
    feedback_id = normalize_event_id(payload.get("event_id")) or envelope_event_id
    if feedback_id is None:
        feedback_id = report_id(repr(received), name, email, message)
    return UserFeedback(
        feedback_id=feedback_id,
        source="feedback",
        event_id=normalize_event_id(context.get("associated_event_id")),
        name=name,
        email=email,
        comments=message,
        url=_optional(context.get("url"), MAX_URL_CHARS),
        release=_optional(payload.get("release"), 200),
        environment=_optional(payload.get("environment"), 64),
        timestamp=parse_timestamp(payload.get("timestamp")) or received,
    )

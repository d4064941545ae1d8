"""User feedback from its two item types into one shape (docs/logs.md, "User feedback").

- ``feedback``: an event whose ``contexts.feedback`` holds ``message``, ``contact_email``,
  ``name``, ``url`` and ``associated_event_id`` (the browser widget and ``captureFeedback``);
- ``user_report``: the legacy ``{event_id, name, email, comments}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from vedette.domain.envelope import normalize_event_id
from vedette.domain.feedback import (
    MAX_COMMENTS_CHARS,
    MAX_EMAIL_CHARS,
    MAX_NAME_CHARS,
    MAX_URL_CHARS,
    InvalidFeedback,
    optional_text,
    report_id,
    text,
)
from vedette.domain.processed import UserFeedback
from vedette.processing.logs import FILTER_RULES, REPLACE_RULES, scrub_text
from vedette.processing.scrub import ScrubConfig
from vedette.processing.timestamps import parse_timestamp


def feedback_event(
    payload: Mapping[str, Any], envelope_event_id: str | None, received: float
) -> UserFeedback:
    """The new format: a ``feedback`` event with ``contexts.feedback``."""
    contexts = payload.get("contexts")
    context = contexts.get("feedback") if isinstance(contexts, Mapping) else None
    if not isinstance(context, Mapping):
        raise InvalidFeedback("missing_feedback_context")
    message = text(context.get("message"), MAX_COMMENTS_CHARS)
    if not message:
        raise InvalidFeedback("missing_feedback_message")
    raw_user = payload.get("user")
    user: Mapping[str, Any] = raw_user if isinstance(raw_user, Mapping) else {}
    name = text(context.get("name"), MAX_NAME_CHARS) or text(
        user.get("name") or user.get("username"), MAX_NAME_CHARS
    )
    email = text(context.get("contact_email"), MAX_EMAIL_CHARS) or text(
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
        url=optional_text(context.get("url"), MAX_URL_CHARS),
        release=optional_text(payload.get("release"), 200),
        environment=optional_text(payload.get("environment"), 64),
        timestamp=parse_timestamp(payload.get("timestamp")) or received,
    )


def scrubbed(found: UserFeedback, config: ScrubConfig) -> UserFeedback:
    """What the user wrote with secrets replaced by the built-in value rules, as in a log's
    body: a pasted token is never stored. The page's URL is scrubbed as an event's request
    URL is (``?token=...`` filtered)."""
    return replace(
        found,
        comments=scrub_text(found.comments, REPLACE_RULES, config),
        url=None if found.url is None else scrub_text(found.url, FILTER_RULES, config),
    )

"""User feedback from a FastAPI service: what a user wrote about an error they just saw.

sentry-sdk 2.x has no Python call for it (the browser SDKs have ``captureFeedback``), so the kit
sends the same ``feedback`` item through the SDK's own transport: it is queued, retried and
rate-limited like the SDK's events, and dropped quietly when monitoring is off.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sentry_sdk
from sentry_sdk.envelope import Envelope, Item, PayloadRef

# Bounds as Sentry's feedback widget sets them; the server truncates too.
MAX_MESSAGE_CHARS = 4096
MAX_CONTACT_CHARS = 128


def send_feedback(
    message: str,
    *,
    name: str | None = None,
    email: str | None = None,
    event_id: str | None = None,
    url: str | None = None,
) -> str | None:
    """Send feedback, linked to the error event ``event_id`` (e.g. the one a 500 answer carried)
    when given; returns the feedback's id, or None when monitoring is off or nothing was said."""
    client = sentry_sdk.get_client()
    message = message.strip()[:MAX_MESSAGE_CHARS]
    if not client.is_active() or client.transport is None or not message:
        return None
    feedback: dict[str, str] = {"message": message}
    optional = {"name": name, "contact_email": email, "url": url}
    feedback.update({k: v[:MAX_CONTACT_CHARS] for k, v in optional.items() if v})
    if event_id:
        feedback["associated_event_id"] = event_id
    feedback_id = uuid.uuid4().hex
    options = client.options
    payload = {
        "event_id": feedback_id,
        "type": "feedback",
        "platform": "python",
        "timestamp": datetime.now(UTC).isoformat(),
        "level": "info",
        "release": options.get("release"),
        "environment": options.get("environment"),
        "contexts": {"feedback": feedback},
    }
    client.transport.capture_envelope(
        Envelope(
            headers={"event_id": feedback_id},
            items=[Item(payload=PayloadRef(json=payload), type="feedback")],
        )
    )
    return feedback_id

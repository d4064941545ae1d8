"""Generic webhook: JSON in the shape of Sentry's legacy webhook plugin, optionally signed.

Receivers written for Sentry's plugin read ``id``, ``project``, ``level``, ``culprit``,
``message``, ``url``, ``triggering_rules`` and ``event``; Vedette adds ``notification_id`` (stable
across retries, for de-duplication), ``action``, ``kind``, ``reason`` and the counts. With a
secret, ``X-Vedette-Signature: sha256=<hex>`` is the HMAC-SHA256 of the exact body bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from typing import Any

from vedette.alerts.channels.base import Endpoints, HttpRequest, Target, json_request
from vedette.alerts.channels.content import fit, iso_time
from vedette.alerts.message import EventSummary, Message

SIGNATURE_HEADER = "X-Vedette-Signature"
# Bounds on attacker-controlled text: JSON escapes it, but a receiver should not get megabytes.
MAX_TEXT = 4096
MAX_TAGS = 100
MAX_TAG_TEXT = 200  # as Sentry bounds tag values
MAX_ITEMS = 100


def render(target: Target, message: Message, endpoints: Endpoints) -> HttpRequest:
    request = json_request(target.address, payload(message), message)
    if not target.secret:
        return request
    headers = {**request.headers, SIGNATURE_HEADER: signature(target.secret, request.body)}
    return replace(request, headers=headers)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(message: Message) -> dict[str, Any]:
    return {
        "id": None if message.issue_id is None else str(message.issue_id),
        "notification_id": message.id,
        "kind": str(message.kind),
        "action": str(message.action),
        "reason": fit(message.reason, MAX_TEXT),
        "organization": message.organization,
        "project": message.project,
        "project_name": message.project_name,
        "project_slug": message.project,
        "short_id": message.short_id,
        "level": message.level,
        "culprit": fit(message.culprit, MAX_TEXT),
        "message": fit(message.title, MAX_TEXT),
        "url": message.url,
        "triggering_rules": [message.rule_name],
        "rule_id": message.rule_id,
        "times_seen": message.event_count,
        "user_count": message.user_count,
        "first_seen": iso_time(message.first_seen),
        "last_seen": iso_time(message.last_seen),
        "environment": _bounded(message.environment),
        "release": _bounded(message.release),
        "event": None if message.event is None else _event(message.event),
        "items": [payload(item) for item in message.items[:MAX_ITEMS]],
        "suppressed": message.suppressed,
    }


def _event(event: EventSummary) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "title": fit(event.title, MAX_TEXT),
        "environment": _bounded(event.environment),
        "release": _bounded(event.release),
        "user": _bounded(event.user),
        "tags": [
            [fit(key, MAX_TAG_TEXT), fit(value, MAX_TAG_TEXT)]
            for key, value in event.tags[:MAX_TAGS]
        ],
    }


def _bounded(text: str | None) -> str | None:
    return None if text is None else fit(text, MAX_TEXT)

"""Slack incoming webhook: a ``text`` fallback and Block Kit ``blocks``.

Event text goes into mrkdwn with ``&``, ``<`` and ``>`` escaped (so it can form neither a link nor
a ``<!channel>`` mention) and ``verbatim`` set (so Slack does not auto-link it either); the header
is plain_text, which Slack never parses. Limits: header 150 characters, section text 3000, a
section field 2000 and at most 10 fields.
"""

from __future__ import annotations

from typing import Any

from vedette.alerts.channels.base import Endpoints, HttpRequest, Target, json_request
from vedette.alerts.channels.content import Content, describe, fit, join_within
from vedette.alerts.message import Message

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
FIELD_VALUE_LIMIT = 300
ENTRY_LIMIT = 300
BUTTON_TEXT = "Open in Vedette"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(target: Target, message: Message, endpoints: Endpoints) -> HttpRequest:
    return json_request(target.address, payload(message), message)


def payload(message: Message) -> dict[str, Any]:
    content = describe(message)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(fit(content.headline, HEADER_LIMIT))},
        {"type": "section", "text": _mrkdwn(fit(content.summary, SECTION_LIMIT, escape))},
    ]
    if content.facts:
        fields = [
            _mrkdwn(f"*{label}*\n{fit(value, FIELD_VALUE_LIMIT, escape)}")
            for label, value in content.facts[:MAX_FIELDS]
        ]
        blocks.append({"type": "section", "fields": fields})
    if content.entries:
        blocks.append({"type": "section", "text": _mrkdwn(_entries(content))})
    blocks.append(
        {"type": "context", "elements": [_mrkdwn(f"Vedette · {escape(message.project)}")]}
    )
    if content.url:
        button = {"type": "button", "text": _plain(BUTTON_TEXT), "url": content.url}
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": fit(content.headline, SECTION_LIMIT, escape), "blocks": blocks}


def _entries(content: Content) -> str:
    lines = []
    for entry in content.entries:
        name = fit(entry.headline, ENTRY_LIMIT, escape)
        line = f"<{escape(entry.url)}|{name}>" if entry.url else name
        lines.append(f"• {line} — {fit(entry.detail, ENTRY_LIMIT, escape)}")
    if content.more_entries:
        lines.append(f"…and {content.more_entries} more")
    return join_within(lines, SECTION_LIMIT)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}

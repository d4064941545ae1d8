"""Discord webhook: a short ``content`` line and one embed.

``allowed_mentions: {"parse": []}`` means no text in the message can ping anyone (``@everyone``,
roles, users) whatever it says; markdown in event text is backslash-escaped. Embed limits:
title 256, description 4096, 25 fields of name 256 / value 1024, 6000 characters in all, and
``content`` 2000.
"""

from __future__ import annotations

from typing import Any

from vedette.alerts.channels.base import Endpoints, HttpRequest, Target, json_request
from vedette.alerts.channels.content import (
    Content,
    backslash_escaper,
    describe,
    fit,
    iso_time,
    join_within,
    markdown_url,
)
from vedette.alerts.message import Message

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_BUDGET = 2048  # of 4096, leaving room under the 6000 total for fields
FIELD_VALUE_LIMIT = 256
MAX_FIELDS = 25
ENTRY_LIMIT = 180
FOOTER_LIMIT = 256


# Discord markdown, ``<@id>`` mentions included, is shown as typed.
escape = backslash_escaper(r"\*_~`|[]()<>")


def render(target: Target, message: Message, endpoints: Endpoints) -> HttpRequest:
    return json_request(target.address, payload(message), message)


def payload(message: Message) -> dict[str, Any]:
    content = describe(message)
    embed: dict[str, Any] = {
        "title": fit(content.headline, TITLE_LIMIT, escape),
        "description": _description(content),
        "color": content.colour,
        "fields": [
            {"name": label, "value": fit(value, FIELD_VALUE_LIMIT, escape), "inline": True}
            for label, value in content.facts[:MAX_FIELDS]
        ],
        "footer": {"text": fit(f"Vedette · {message.project}", FOOTER_LIMIT)},
    }
    if content.url:
        embed["url"] = content.url
    timestamp = iso_time(message.last_seen)
    if timestamp:
        embed["timestamp"] = timestamp
    return {
        "content": fit(content.headline, CONTENT_LIMIT, escape),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


def _description(content: Content) -> str:
    lines = [fit(content.summary, DESCRIPTION_BUDGET // 2, escape)]
    for entry in content.entries:
        name = fit(entry.headline, ENTRY_LIMIT, escape)
        line = f"[{name}]({markdown_url(entry.url)})" if entry.url else name
        lines.append(f"• {line} — {fit(entry.detail, ENTRY_LIMIT, escape)}")
    if content.more_entries:
        lines.append(f"…and {content.more_entries} more")
    return join_within(lines, DESCRIPTION_BUDGET)

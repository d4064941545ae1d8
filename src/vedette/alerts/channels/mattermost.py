"""Mattermost incoming webhook: markdown ``text`` plus one Slack-style attachment.

Event text is markdown-escaped, and every ``@`` that starts a word is followed by a zero-width
space so that ``@channel``, ``@all``, ``@here`` or a user name in an exception message notifies
nobody.
"""

from __future__ import annotations

import re
from typing import Any

from vedette.alerts.channels.base import Endpoints, HttpRequest, Target, json_request
from vedette.alerts.channels.content import (
    Content,
    backslash_escaper,
    describe,
    fit,
    join_within,
    markdown_url,
)
from vedette.alerts.message import Message

HEADLINE_LIMIT = 400
SUMMARY_LIMIT = 1000
FIELD_LIMIT = 400
ENTRY_LIMIT = 300
ENTRIES_LIMIT = 4000
ZERO_WIDTH_SPACE = "\u200b"
# An @ that starts a word (not the one in shop@1.2.3 or ops@example.com) would mention someone.
_MENTION = re.compile(r"(?<!\w)@")


_escape_markdown = backslash_escaper(r"\*_~`|[]()<>!")


def escape(text: str) -> str:
    return _unmention(_escape_markdown(text))


def render(target: Target, message: Message, endpoints: Endpoints) -> HttpRequest:
    return json_request(target.address, payload(message), message)


def payload(message: Message) -> dict[str, Any]:
    content = describe(message)
    headline = fit(content.headline, HEADLINE_LIMIT, escape)
    title = f"[{headline}]({markdown_url(content.url)})" if content.url else headline
    attachment: dict[str, Any] = {
        "fallback": fit(content.headline, HEADLINE_LIMIT, _unmention),
        "color": f"#{content.colour:06x}",
        "title": fit(content.headline, HEADLINE_LIMIT, _unmention),
        "fields": [
            {"short": True, "title": label, "value": fit(value, FIELD_LIMIT, escape)}
            for label, value in content.facts
        ],
        "footer": "Vedette",
    }
    if content.url:
        attachment["title_link"] = content.url
    if content.entries:
        attachment["text"] = _entries(content)
    return {
        "text": f"#### {title}\n{fit(content.summary, SUMMARY_LIMIT, escape)}",
        "attachments": [attachment],
    }


def _entries(content: Content) -> str:
    lines = []
    for entry in content.entries:
        name = fit(entry.headline, ENTRY_LIMIT, escape)
        line = f"[{name}]({markdown_url(entry.url)})" if entry.url else name
        lines.append(f"* {line} — {fit(entry.detail, ENTRY_LIMIT, escape)}")
    if content.more_entries:
        lines.append(f"…and {content.more_entries} more")
    return join_within(lines, ENTRIES_LIMIT)


def _unmention(text: str) -> str:
    """For plain-text places (attachment title, fallback): mentions only, no markdown."""
    return _MENTION.sub("@" + ZERO_WIDTH_SPACE, text)

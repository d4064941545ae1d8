"""Telegram Bot API ``sendMessage`` with ``parse_mode: HTML``.

Event text is HTML-escaped; the message is assembled from whole lines so that the 4096-character
limit never cuts a tag in half. The bot token is part of the URL path: never log that URL.
"""

from __future__ import annotations

import html
from typing import Any

from vedette.alerts.channels.base import (
    Endpoints,
    HttpRequest,
    Target,
    json_request,
    telegram_parts,
)
from vedette.alerts.channels.content import describe, fit, join_within
from vedette.alerts.message import Message

TEXT_LIMIT = 4096
HEADLINE_LIMIT = 500
LINE_LIMIT = 400


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def render(target: Target, message: Message, endpoints: Endpoints) -> HttpRequest:
    token, chat_id = telegram_parts(target.address)
    url = f"{endpoints.telegram_api_url.rstrip('/')}/bot{token}/sendMessage"
    return json_request(url, payload(chat_id, message), message)


def payload(chat_id: str, message: Message) -> dict[str, Any]:
    return {
        "chat_id": chat_id,
        "text": text(message),
        "parse_mode": "HTML",
        "disable_web_page_preview": True,
    }


def text(message: Message) -> str:
    content = describe(message)
    lines = [
        f"<b>{fit(content.headline, HEADLINE_LIMIT, escape)}</b>",
        fit(content.summary, LINE_LIMIT, escape),
        "",
    ]
    lines += [f"<b>{label}:</b> {fit(value, LINE_LIMIT, escape)}" for label, value in content.facts]
    if content.entries:
        lines.append("")
    for entry in content.entries:
        name = fit(entry.headline, LINE_LIMIT, escape)
        link = f'<a href="{html.escape(entry.url)}">{name}</a>' if entry.url else name
        lines.append(f"• {link} — {fit(entry.detail, LINE_LIMIT, escape)}")
    if content.more_entries:
        lines.append(f"…and {content.more_entries} more")
    if content.url:
        lines += ["", f'<a href="{html.escape(content.url)}">Open in Vedette</a>']
    return join_within(lines, TEXT_LIMIT)

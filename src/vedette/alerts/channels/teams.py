"""Microsoft Teams workflow webhook ("post to a channel when a webhook request is received").

The body is a ``message`` whose one attachment is an Adaptive Card 1.4: TextBlocks for the
headline and summary, a FactSet, and an Action.OpenUrl to the issue. TextBlock and fact values
render a markdown subset, so its punctuation in event text is backslash-escaped. Teams refuses
cards over about 28 KB: every piece is bounded well under that.
"""

from __future__ import annotations

from typing import Any

from vedette.alerts.channels.base import Endpoints, HttpRequest, Target, json_request
from vedette.alerts.channels.content import Content, backslash_escaper, describe, fit, markdown_url
from vedette.alerts.message import Action, Message

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
HEADLINE_LIMIT = 400
SUMMARY_LIMIT = 1000
FACT_LIMIT = 400
ENTRY_LIMIT = 300


escape = backslash_escaper(r"\*_~`[]()<>")


def render(target: Target, message: Message, endpoints: Endpoints) -> HttpRequest:
    return json_request(target.address, payload(message), message)


def payload(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card(message)}
        ],
    }


def card(message: Message) -> dict[str, Any]:
    content = describe(message)
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": fit(content.headline, HEADLINE_LIMIT, escape),
            "size": "Medium",
            "weight": "Bolder",
            "color": _colour(message),
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": fit(content.summary, SUMMARY_LIMIT, escape),
            "isSubtle": True,
            "wrap": True,
        },
    ]
    if content.facts:
        facts = [
            {"title": label, "value": fit(value, FACT_LIMIT, escape)}
            for label, value in content.facts
        ]
        body.append({"type": "FactSet", "facts": facts})
    body.extend(_entries(content))
    result: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if content.url:
        result["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open in Vedette", "url": content.url}
        ]
    return result


def _entries(content: Content) -> list[dict[str, Any]]:
    blocks = []
    for entry in content.entries:
        name = fit(entry.headline, ENTRY_LIMIT, escape)
        line = f"[{name}]({markdown_url(entry.url)})" if entry.url else name
        text = f"{line} — {fit(entry.detail, ENTRY_LIMIT, escape)}"
        blocks.append({"type": "TextBlock", "text": text, "wrap": True, "spacing": "Small"})
    if content.more_entries:
        more = f"…and {content.more_entries} more"
        blocks.append({"type": "TextBlock", "text": more, "isSubtle": True, "wrap": True})
    return blocks


def _colour(message: Message) -> str:
    if message.action is Action.RESOLVE:
        return "Good"
    return {"fatal": "Attention", "error": "Attention", "warning": "Warning"}.get(
        message.level, "Default"
    )

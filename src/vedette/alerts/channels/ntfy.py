"""ntfy: publish as JSON to the server's root, the topic taken from the target URL's path.

``https://ntfy.example/alerts`` becomes a POST to ``https://ntfy.example/`` with
``{"topic": "alerts", ...}``. The message is plain text (markdown off), so nothing needs escaping;
ntfy turns messages over 4096 bytes into attachments, so the body stays under that.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vedette.alerts.channels.base import Endpoints, HttpRequest, Target, json_request, ntfy_topic
from vedette.alerts.channels.content import describe, fit, fit_bytes
from vedette.alerts.message import Action, Message

TITLE_LIMIT = 250
MESSAGE_BYTES = 4000
LINE_LIMIT = 300
# ntfy priorities: 1 min, 2 low, 3 default, 4 high, 5 max (urgent).
PRIORITIES = {"fatal": 5, "error": 4, "warning": 3, "info": 2, "debug": 1}
TAGS = {"fatal": "rotating_light", "error": "x", "warning": "warning", "info": "information_source"}


def render(target: Target, message: Message, endpoints: Endpoints) -> HttpRequest:
    return json_request(publish_url(target.address), payload(target, message), message)


def publish_url(address: str) -> str:
    """The URL with its topic (last path segment) removed: ntfy's JSON endpoint. The query stays
    (ntfy accepts ``?auth=...``), and so do credentials in the URL."""
    parts = urlsplit(address)
    base_path = parts.path.rstrip("/").rpartition("/")[0]
    return urlunsplit((parts.scheme, parts.netloc, base_path + "/", parts.query, ""))


def payload(target: Target, message: Message) -> dict[str, Any]:
    content = describe(message)
    lines = [content.summary]
    lines += [f"{label}: {value}" for label, value in content.facts]
    lines += [f"• {entry.headline} — {entry.detail}" for entry in content.entries]
    if content.more_entries:
        lines.append(f"…and {content.more_entries} more")
    resolved = message.action is Action.RESOLVE
    result: dict[str, Any] = {
        "topic": ntfy_topic(target.address),
        "title": fit(content.headline, TITLE_LIMIT),
        "message": fit_bytes("\n".join(fit(line, LINE_LIMIT) for line in lines), MESSAGE_BYTES),
        "priority": 3 if resolved else PRIORITIES.get(message.level, 4),
        "tags": ["white_check_mark" if resolved else TAGS.get(message.level, "x"), "vedette"],
    }
    if content.url:
        result["click"] = content.url
        result["actions"] = [{"action": "view", "label": "Open in Vedette", "url": content.url}]
    return result

"""The types every channel shares: where a notification goes and what is sent there.

``parse_target`` reads the CLI's ``KIND:ADDRESS`` notation, a public contract: keep it stable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from vedette.alerts.message import Message

NOTIFICATION_ID_HEADER = "X-Vedette-Notification-Id"


class ChannelKind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    SLACK = "slack"
    DISCORD = "discord"
    TEAMS = "teams"
    MATTERMOST = "mattermost"
    NTFY = "ntfy"
    TELEGRAM = "telegram"
    PAGERDUTY = "pagerduty"


@dataclass(frozen=True, slots=True)
class Target:
    """One destination; ``secret`` (webhook signing key) never appears in ``spec()``."""

    kind: ChannelKind
    address: str
    secret: str | None = field(default=None, repr=False)

    def spec(self) -> str:
        return f"{self.kind}:{self.address}"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class EmailContent:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Fixed service addresses, configurable so tests (or a proxy) can stand in for them."""

    telegram_api_url: str = "https://api.telegram.org"
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"


_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_TELEGRAM_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
_TELEGRAM_CHAT = re.compile(r"-?[0-9]+|@[A-Za-z0-9_]{4,}")
_ROUTING_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")
_URL_KINDS = frozenset(
    {
        ChannelKind.WEBHOOK,
        ChannelKind.SLACK,
        ChannelKind.DISCORD,
        ChannelKind.TEAMS,
        ChannelKind.MATTERMOST,
        ChannelKind.NTFY,
    }
)
SPEC_FORMS = (
    "email:ADDRESS, webhook:URL, slack:URL, discord:URL, teams:URL, mattermost:URL, ntfy:URL, "
    "telegram:TOKEN@CHAT_ID, pagerduty:ROUTING_KEY"
)


def parse_target(spec: str) -> Target:
    """``KIND:ADDRESS`` -> Target, or ValueError saying what is wrong with it."""
    kind_name, colon, address = spec.strip().partition(":")
    if not colon:
        raise ValueError(
            f"notification target {spec!r} has no KIND: prefix; use one of {SPEC_FORMS}"
        )
    try:
        kind = ChannelKind(kind_name.lower())
    except ValueError:
        raise ValueError(
            f"unknown notification channel {kind_name!r}; use one of {SPEC_FORMS}"
        ) from None
    if kind in _URL_KINDS:
        check_http_url(address, what=f"{kind} target")
        if kind is ChannelKind.NTFY and not ntfy_topic(address):
            raise ValueError(f"ntfy target {address!r} names no topic: use https://HOST/TOPIC")
    elif kind is ChannelKind.EMAIL:
        if not _EMAIL.fullmatch(address):
            raise ValueError(f"email target {address!r} is not an address like ops@example.com")
    elif kind is ChannelKind.TELEGRAM:
        telegram_parts(address)
    elif not _ROUTING_KEY.fullmatch(address):
        raise ValueError(f"pagerduty target needs an integration routing key, not {address!r}")
    return Target(kind, address)


def check_http_url(url: str, *, what: str) -> None:
    if not url or any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise ValueError(f"{what} {url!r} is not a URL")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError as error:
        raise ValueError(f"{what} {url!r} is not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{what} {url!r} must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError(f"{what} {url!r} has no host")


def telegram_parts(address: str) -> tuple[str, str]:
    """``TOKEN@CHAT_ID`` -> (token, chat id); the chat may itself be ``@channelname``."""
    token, at, chat = address.partition("@")
    if not at or not token or not chat:
        raise ValueError(f"telegram target must be TOKEN@CHAT_ID, not {address!r}")
    if not _TELEGRAM_TOKEN.fullmatch(token):
        raise ValueError("telegram bot token must look like 123456:ABC-def (from @BotFather)")
    if not _TELEGRAM_CHAT.fullmatch(chat):
        raise ValueError(f"telegram chat id must be a number or @channelname, not {chat!r}")
    return token, chat


def ntfy_topic(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rpartition("/")[2]


def json_request(url: str, payload: dict[str, Any], message: Message) -> HttpRequest:
    """A POST of ``payload`` as compact UTF-8 JSON, tagged with the notification's id."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", NOTIFICATION_ID_HEADER: message.id}
    return HttpRequest("POST", url, headers, body)

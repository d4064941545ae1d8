"""What every channel says about a message, before any format's escaping.

``describe`` turns a Message into a headline, a summary line, labelled facts and (for digests) a
list of entries, all raw text. Each channel escapes these for its own format and bounds them with
``fit``, which cuts the raw text so that its *escaped* form stays within the service's limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from vedette.alerts.message import Action, Message, MessageKind

ELLIPSIS = "…"
# A digest names at most this many of its entries; the rest are counted.
MAX_DIGEST_ENTRIES = 10

# Colours by level, as 0xRRGGBB; a resolution is always green.
LEVEL_COLOURS = {
    "fatal": 0x8E1B1B,
    "error": 0xE03E2F,
    "warning": 0xF2B632,
    "info": 0x2F80ED,
    "debug": 0x8A8A8A,
}
RESOLVED_COLOUR = 0x2EB67D


@dataclass(frozen=True, slots=True)
class Entry:
    """One firing inside a digest."""

    headline: str
    detail: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Content:
    headline: str
    summary: str
    facts: list[tuple[str, str]]
    entries: list[Entry]
    more_entries: int  # digest entries not listed
    url: str | None  # None when the message's link is not http(s)
    colour: int


def describe(message: Message) -> Content:
    entries = [_entry(item) for item in message.items[:MAX_DIGEST_ENTRIES]]
    return Content(
        headline=headline(message),
        summary=one_line(_summary(message)),
        facts=facts(message),
        entries=entries,
        more_entries=max(0, len(message.items) - len(entries)),
        url=safe_url(message.url),
        colour=colour(message),
    )


def headline(message: Message) -> str:
    """One line naming what happened: ``SHOP-12 KeyError: 'x'``, ``Resolved: ...``."""
    resolved = message.action is Action.RESOLVE
    match message.kind:
        case MessageKind.ISSUE:
            text = issue_name(message)
        case MessageKind.METRIC:
            text = message.title if resolved else f"Metric alert: {message.title}"
        case MessageKind.DIGEST:
            count = len(message.items)
            text = f"{count} alert{'s' if count != 1 else ''} from rule {message.rule_name}"
        case MessageKind.SUPPRESSED:
            text = f"{message.suppressed} more alerts suppressed in {message.project_name}"
        case MessageKind.TEST:
            text = f"Test notification: {issue_name(message) or 'Vedette is connected'}"
        case MessageKind.FEEDBACK:
            text = f"Feedback: {message.title}"
        case MessageKind.ACCOUNT:
            text = message.title
    return one_line(f"Resolved: {text}" if resolved else text)


def issue_name(message: Message) -> str:
    return one_line(f"{message.short_id} {message.title}" if message.short_id else message.title)


def _summary(message: Message) -> str:
    if message.kind is MessageKind.SUPPRESSED:
        return (
            f"{message.project_name} reached its hourly notification limit: "
            f"{message.suppressed} more alerts were not sent."
        )
    if message.kind is MessageKind.TEST:
        return f"A test of rule {message.rule_name} in {message.project_name}. {message.reason}"
    if message.kind is MessageKind.ACCOUNT:
        return message.reason
    return f"{message.reason} in {message.project_name}"


def facts(message: Message) -> list[tuple[str, str]]:
    """Labelled values, at most ten (Slack's limit for section fields), empty ones left out."""
    if message.kind is MessageKind.ACCOUNT:
        return []
    event = message.event
    counted = message.kind not in (MessageKind.DIGEST, MessageKind.SUPPRESSED, MessageKind.FEEDBACK)
    candidates = [
        ("Project", f"{message.project_name} ({message.project})"),
        ("Rule", message.rule_name),
        ("Level", message.level),
        ("Culprit", message.culprit),
        ("Events", f"{message.event_count:,}" if counted else ""),
        ("Users", f"{message.user_count:,}" if counted else ""),
        ("First seen", human_time(message.first_seen)),
        ("Last seen", human_time(message.last_seen)),
        ("Environment", message.environment or (event.environment if event else None) or ""),
        ("Release", message.release or (event.release if event else None) or ""),
    ]
    return [(label, one_line(value)) for label, value in candidates if value]


def _entry(item: Message) -> Entry:
    detail = f"{item.level} · {item.event_count:,} events · {item.user_count:,} users"
    if item.culprit:
        detail += f" · {item.culprit}"
    return Entry(headline=headline(item), detail=one_line(detail), url=safe_url(item.url))


def colour(message: Message) -> int:
    if message.action is Action.RESOLVE:
        return RESOLVED_COLOUR
    return LEVEL_COLOURS.get(message.level, LEVEL_COLOURS["error"])


def iso_time(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def human_time(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def one_line(text: str) -> str:
    """Control characters and Unicode's line and paragraph separators become spaces: a title
    cannot forge more lines (and an email header refuses any line break ``str.splitlines``
    knows, which would make the message unsendable)."""
    return "".join(" " if _breaks_line(ch) else ch for ch in text).strip()


def _breaks_line(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code < 0xA0 or code in (0x2028, 0x2029)


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) link with nothing that could break out of markup."""
    if not url or any(ch.isspace() or ch in '<>"|`' or ord(ch) < 0x20 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def fit(text: str, limit: int, escape: Callable[[str], str] = str) -> str:
    """``escape(text)``, cut (with an ellipsis) so that the result is at most ``limit`` long.

    The cut is made in the raw text, never inside an escape sequence. Escaping only lengthens,
    so each round shortens the raw text by at least the current excess.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    raw = text[:limit]
    while raw:
        escaped = escape(raw)
        excess = len(escaped) + len(ELLIPSIS) - limit
        if excess <= 0:
            return escaped + ELLIPSIS
        raw = raw[:-excess]
    return ELLIPSIS[:limit]


def fit_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (for services that count bytes)."""
    if len(text.encode()) <= limit:
        return text
    budget = limit - len(ELLIPSIS.encode())
    return text.encode()[:budget].decode(errors="ignore") + ELLIPSIS


def join_within(parts: Iterable[str], limit: int, separator: str = "\n") -> str:
    """Whole parts joined until the next would pass ``limit``; markup is never cut in half."""
    joined = ""
    for part in parts:
        candidate = f"{joined}{separator}{part}" if joined else part
        if len(candidate) + len(separator) + len(ELLIPSIS) > limit:
            return f"{joined}{separator}{ELLIPSIS}" if joined else ELLIPSIS
        joined = candidate
    return joined


def markdown_url(url: str) -> str:
    """A safe URL with its parentheses percent-encoded, so it cannot close a ``[..](..)`` link."""
    return url.replace("(", "%28").replace(")", "%29")


def backslash_escaper(inline: str, leading: str = "#->+") -> Callable[[str], str]:
    """An escape for a markdown dialect: a backslash before each ``inline`` character anywhere,
    and before a first character that would start a heading, list or quote (``leading``).

    Our own text (dates, counts) keeps its hyphens; one-line event text cannot start a block
    anywhere but at its beginning."""
    pattern = re.compile(f"([{re.escape(inline)}])")

    def escape(text: str) -> str:
        escaped = pattern.sub(r"\\\1", text)
        return f"\\{escaped}" if escaped[:1] in leading and escaped else escaped

    return escape

"""Values of a stored event, read for display: every one is attacker-controlled and may have
any shape, so each reader checks the type it needs and turns anything else into text (which
templates escape) or nothing. Links are only made of http(s) URLs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

MAX_PRETTY_CHARS = 20_000


def safe_link(value: object) -> str | None:
    """The URL if it may become an href (http or https with a host), else None: a
    ``javascript:``, ``data:`` or relative URL from an event is shown as text, never linked."""
    if not isinstance(value, str) or any(c in value for c in "\r\n\t\x00"):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value.strip()


def pretty(value: object) -> str:
    """A value as readable text: strings as they are, everything else as indented JSON."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = orjson.dumps(
                value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
            ).decode()
        except TypeError:
            text = repr(value)
    if len(text) > MAX_PRETTY_CHARS:
        text = text[:MAX_PRETTY_CHARS] + "\n[... cut for display]"
    return text


def dict_of(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def list_of(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def text_of(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else pretty(value)


def opt_text(value: object) -> str | None:
    return None if value is None or value == "" else text_of(value)


def values_of(container: object) -> list[Any]:
    """Sentry's ``{"values": [...]}`` wrapper, or a bare list."""
    if isinstance(container, list):
        return container
    return list_of(dict_of(container).get("values"))


def fmt_timestamp(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except (OverflowError, OSError, ValueError):
        return None


def int_of(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

"""Top-level scalar attributes: platform, level, logger, release, dist, environment and the like.

See docs/protocol.md, "Event attributes". An invalid value is dropped with an error; it never
costs the event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from vedette.processing.coerce import field_int, field_str, lenient_str, mapping, put
from vedette.processing.interfaces.level import normalize_level
from vedette.processing.trim import (
    CULPRIT_CHARS,
    DIST_CHARS,
    ENVIRONMENT_CHARS,
    LOGGER_CHARS,
    PATH_CHARS,
    SHORT_CHARS,
    SYMBOL_CHARS,
    TAG_CHARS,
    Notes,
    clean_str,
    trim_str,
)

# Relay's VALID_PLATFORMS (relay-event-schema constants.rs); anything else becomes "other".
VALID_PLATFORMS = frozenset(
    {"as3", "c", "cfml", "cocoa", "csharp", "elixir", "go", "groovy", "haskell", "java",
     "javascript", "native", "node", "objc", "other", "perl", "php", "python", "ruby"}
)  # fmt: skip

# Sentry's release naming rules: no newlines, tabs, slashes; not ".", "..", " " or "latest".
_BAD_RELEASE_CHARS = re.compile(r"[\r\n\t\f\v/\\]")
_BAD_RELEASES = frozenset({".", "..", " ", "latest"})
_BAD_ENVIRONMENT = re.compile(r"[\r\n\f/ ]")
_DIST = re.compile(r"[A-Za-z0-9_.\-]+")


def normalize_scalars(
    raw: Mapping[str, object],
    event: dict[str, Any],
    platform_hint: str | None,
    notes: Notes,
    *,
    transaction: bool,
) -> None:
    """The scalar attributes of ``raw`` into ``event``, with their defaults."""
    event["platform"] = _platform(raw.get("platform"), platform_hint)
    level = normalize_level(raw.get("level"), ("level",), notes)
    event["level"] = level or ("info" if transaction else "error")
    put(event, "logger", _logger(raw.get("logger"), notes))
    put(
        event,
        "transaction",
        field_str(raw.get("transaction"), CULPRIT_CHARS, ("transaction",), notes),
    )
    put(
        event, "server_name", field_str(raw.get("server_name"), PATH_CHARS, ("server_name",), notes)
    )
    put(event, "release", _release(raw.get("release"), notes))
    put(event, "dist", _dist(raw.get("dist"), notes))
    put(event, "environment", normalize_environment(raw.get("environment"), notes))
    put(event, "culprit", field_str(raw.get("culprit"), CULPRIT_CHARS, ("culprit",), notes))
    put(event, "site", field_str(raw.get("site"), TAG_CHARS, ("site",), notes))
    put(event, "checksum", field_str(raw.get("checksum"), SHORT_CHARS, ("checksum",), notes))
    put(event, "version", field_str(raw.get("version"), SHORT_CHARS, ("version",), notes))
    time_spent = field_int(raw.get("time_spent"), ("time_spent",), notes)
    if time_spent is not None and time_spent >= 0:
        event["time_spent"] = time_spent
    put(event, "fingerprint", _fingerprint(raw.get("fingerprint"), notes))
    put(event, "modules", _modules(raw.get("modules"), notes))


def _platform(value: object, hint: str | None) -> str:
    for candidate in (value, hint):
        if isinstance(candidate, str) and candidate.strip().lower() in VALID_PLATFORMS:
            return candidate.strip().lower()
    return "other"


def _logger(value: object, notes: Notes) -> str | None:
    """≤64 characters without line breaks; a long dotted name keeps its tail (Relay)."""
    text = lenient_str(value)
    if text is None or not text.strip():
        return None
    text = text.strip()
    if "\n" in text or "\r" in text:
        notes.error("invalid_data", "logger", text, reason="line break in logger")
        return None
    if len(text) > LOGGER_CHARS:
        notes.annotate(("logger",), len=len(text), rem=[["!limit", "s"]])
        text = "*" + text[-(LOGGER_CHARS - 1) :]
    return text


def _release(value: object, notes: Notes) -> str | None:
    """Trimmed release name; an invalid one is dropped with an error, never the event."""
    text = lenient_str(value)
    if text is None:
        if value is not None:
            notes.error("invalid_data", "release", value, reason="release is not a string")
        return None
    name = text.strip()
    if not name:
        if text:  # " " is explicitly forbidden; "" is simply absent
            notes.error("invalid_data", "release", text, reason="invalid release name")
        return None
    if name in _BAD_RELEASES or len(name) > TAG_CHARS or _BAD_RELEASE_CHARS.search(name):
        notes.error("invalid_data", "release", name, reason="invalid release name")
        notes.annotate(("release",), err=[["invalid_data", {"reason": "invalid release name"}]])
        return None
    return name


def _dist(value: object, notes: Notes) -> str | None:
    text = lenient_str(value)
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > DIST_CHARS or not _DIST.fullmatch(text):
        notes.error("invalid_data", "dist", text, reason="invalid dist")
        return None
    return text


def normalize_environment(value: object, notes: Notes) -> str | None:
    text = lenient_str(value)
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > ENVIRONMENT_CHARS or _BAD_ENVIRONMENT.search(text) or text == "None":
        notes.error("invalid_data", "environment", text, reason="invalid environment name")
        return None
    return text


def _fingerprint(value: object, notes: Notes) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        notes.error("invalid_data", "fingerprint", value, reason="fingerprint is not a list")
        return None
    parts: list[str] = []
    for index, item in enumerate(value[:64]):
        text = lenient_str(item)
        if text is None:
            notes.error("invalid_data", f"fingerprint.{index}", item, reason="not a string")
            return None
        parts.append(trim_str(text, SYMBOL_CHARS, ("fingerprint", index), notes))
    return parts or None


def _modules(value: object, notes: Notes) -> dict[str, str] | None:
    raw = mapping(value)
    if raw is None:
        return None
    modules: dict[str, str] = {}
    for key, item in raw.items():
        version = lenient_str(item)
        if version is not None and len(modules) < 2000:
            modules[clean_str(str(key))[:SYMBOL_CHARS]] = version[:SHORT_CHARS]
    return modules

"""Event tags: the user's, as Sentry stores them, then the ones Sentry derives from the event.

See docs/protocol.md, "Tags".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vedette.processing.coerce import lenient_str
from vedette.processing.trim import (
    TAG_CHARS,
    Notes,
    clean_str,
)

# User tags kept per event. Sentry has no documented count limit (the 1 MiB event cap bounds it);
# Vedette indexes tags per event, so a 10,000-tag payload must not become 10,000 index rows.
MAX_TAGS = 1000
RESERVED_TAG_KEYS = frozenset({"release", "dist", "user", "filename", "function"})


def _tag_text(value: object) -> str | None:
    if isinstance(value, str):  # nearly every tag: lenient_str's answer without its type tests
        return clean_str(value).strip()
    text = lenient_str(value)
    return None if text is None else text.strip()


def _tag_entries(value: object, notes: Notes) -> list[tuple[int, object, object]]:
    if isinstance(value, Mapping):
        return [(index, key, item) for index, (key, item) in enumerate(value.items())]
    if isinstance(value, list | tuple):
        entries: list[tuple[int, object, object]] = []
        for index, item in enumerate(value):
            if isinstance(item, list | tuple) and len(item) == 2:
                entries.append((index, item[0], item[1]))
            elif item is not None:
                notes.error("invalid_data", f"tags.{index}", item, reason="not a [key, value] pair")
        return entries
    if value is not None:
        notes.error("invalid_data", "tags", value, reason="tags must be an object or pairs")
    return []


def user_tags(value: object, notes: Notes) -> tuple[list[list[str]], str | None]:
    """User tags as ``[[key, value], ...]`` (Sentry's stored shape), and the ``environment`` tag.

    An ``environment`` tag is not kept as a tag: Relay makes it the event's environment when the
    event has none, so it is returned for the caller to do that.
    """
    tags: list[list[str]] = []
    seen: set[str] = set()
    environment_tag: str | None = None
    entries = _tag_entries(value, notes)
    for index, key_obj, value_obj in entries:
        key, text = _tag_text(key_obj), _tag_text(value_obj)
        if key is None or text is None:
            if value_obj is not None and key_obj is not None:
                notes.error("invalid_data", f"tags.{index}", value_obj, reason="not a string")
            continue
        if not key or not text:
            continue
        if len(key) > TAG_CHARS or len(text) > TAG_CHARS:
            notes.annotate(
                ("tags", index), len=max(len(key), len(text)), err=[["value_too_long", {}]]
            )
            notes.error("value_too_long", f"tags.{index}", key)
            continue
        if "\n" in key or "\n" in text or "\r" in key or "\r" in text:
            notes.error("invalid_data", f"tags.{index}", key, reason="line break in tag")
            continue
        if key == "environment":
            environment_tag = environment_tag or text
            continue
        if key in RESERVED_TAG_KEYS or key in seen:
            continue
        if len(tags) >= MAX_TAGS:
            notes.annotate(("tags",), len=len(entries))
            break
        seen.add(key)
        tags.append([key, text])
    return tags, environment_tag


def with_derived_tags(tags: list[list[str]], event: Mapping[str, Any]) -> list[list[str]]:
    """``tags`` followed by the derived tags whose keys the user did not set (in place)."""
    seen = {key for key, _ in tags}
    for key, text in derived_tags(event):
        if key not in seen:
            seen.add(key)
            tags.append([key, text])
    return tags


def derived_tags(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The tags Sentry shows on every event, computed from normalised fields."""
    found: list[tuple[str, str | None]] = [
        ("level", event.get("level")),
        ("logger", event.get("logger")),
        ("environment", event.get("environment")),
        ("release", event.get("release")),
        ("dist", event.get("dist")),
        ("transaction", event.get("transaction")),
        ("user", _user_tag(event.get("user"))),
        ("url", _url_tag(event.get("request"))),
        *_mechanism_tags(event.get("exception")),
        *_context_tags(event.get("contexts")),
        ("server_name", event.get("server_name")),
        ("site", event.get("site")),
    ]
    return [(key, text[:TAG_CHARS]) for key, text in found if isinstance(text, str) and text]


def _user_tag(user: object) -> str | None:
    if not isinstance(user, dict):
        return None
    for key, label in (
        ("id", "id"),
        ("email", "email"),
        ("username", "username"),
        ("ip_address", "ip"),
    ):
        if isinstance(user.get(key), str):
            return f"{label}:{user[key]}"
    return None


def _url_tag(request: object) -> str | None:
    url = request.get("url") if isinstance(request, dict) else None
    return url if isinstance(url, str) else None


def _mechanism_tags(exception: object) -> list[tuple[str, str | None]]:
    values = exception.get("values") if isinstance(exception, dict) else None
    if not isinstance(values, list) or not values:
        return []
    mechanism = values[-1].get("mechanism")
    if not isinstance(mechanism, dict):
        return []
    handled = mechanism.get("handled")
    handled_tag = None if not isinstance(handled, bool) else ("yes" if handled else "no")
    return [("handled", handled_tag), ("mechanism", mechanism.get("type"))]


def _context_tags(contexts: object) -> list[tuple[str, str | None]]:
    if not isinstance(contexts, dict):
        return []
    by_type: dict[str, dict[str, Any]] = {}
    for alias, context in contexts.items():
        kind = context.get("type")
        if alias == "client_os" or not isinstance(kind, str):
            continue  # the browser user's system is not the server's ``os``
        # the context under its own type name wins over a renamed alias ("server-os")
        if kind not in by_type or alias == kind:
            by_type[kind] = context
    found: list[tuple[str, str | None]] = []
    for key, context in (
        ("runtime", by_type.get("runtime")),
        ("os", by_type.get("os")),
        ("browser", by_type.get("browser")),
        ("client_os", contexts.get("client_os")),
    ):
        found.extend(_name_version_tags(key, context))
    device = by_type.get("device")
    model = device.get("model") if isinstance(device, dict) else None
    found.append(("device", model if isinstance(model, str) else None))
    return found


def _name_version_tags(key: str, context: object) -> list[tuple[str, str | None]]:
    """``runtime: CPython 3.11.7`` and ``runtime.name: CPython`` from one context."""
    if not isinstance(context, dict):
        return []
    name = context.get("name")
    if not isinstance(name, str) or not name.strip():
        return []
    version = context.get("version")
    full = f"{name} {version}" if isinstance(version, str) and version.strip() else name
    return [(key, " ".join(full.split())), (f"{key}.name", name.strip())]

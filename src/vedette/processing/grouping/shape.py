"""Tolerant readers for event JSON, raw from an SDK or normalised.

Grouping and titles run on normalised events, but nothing here may assume normalisation went
well: interfaces can be a bare list or ``{"values": [...]}``, under a legacy
``sentry.interfaces.*`` key, explicitly ``null``, or simply garbage. Every reader returns
"absent" instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vedette.processing.coerce import is_mapping

JsonMap = Mapping[str, Any]

# Legacy interface aliases still sent by old clients (docs/protocol.md, "Event attributes").
_LEGACY_KEYS = {
    "exception": "sentry.interfaces.Exception",
    "stacktrace": "sentry.interfaces.Stacktrace",
    "logentry": "sentry.interfaces.Message",
    "template": "sentry.interfaces.Template",
    "threads": "sentry.interfaces.Threads",
}


def mapping(value: object) -> JsonMap | None:
    return value if is_mapping(value) else None


def text(value: object) -> str | None:
    """A string field. Numbers are coerced (Relay does the same); anything else is absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def integer(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def values_list(value: object) -> list[JsonMap]:
    """The mappings of an interface sent as ``{"values": [...]}`` or as a bare list."""
    if is_mapping(value):
        value = value.get("values")
    if isinstance(value, list | tuple):
        return [item for item in value if is_mapping(item)]
    return []


def interface(event: JsonMap, name: str) -> object:
    value = event.get(name)
    if value is None and name in _LEGACY_KEYS:
        value = event.get(_LEGACY_KEYS[name])
    return value


def frames(stacktrace: object) -> list[JsonMap]:
    """The frames of a stack trace, caller first; non-object frames are skipped."""
    st = mapping(stacktrace)
    raw = st.get("frames") if st is not None else None
    if not isinstance(raw, list | tuple):
        return []
    return [frame for frame in raw if type(frame) is dict or isinstance(frame, Mapping)]


def _is_usable_exception(exc: JsonMap) -> bool:
    return bool(text(exc.get("type")) or text(exc.get("value")) or frames(exc.get("stacktrace")))


def exceptions(event: JsonMap) -> list[JsonMap]:
    """Exceptions oldest first (the raised one last), as normalisation leaves them.

    Accepts ``{"values": [...]}``, a bare list, or one bare exception object (Sentry's own
    grouping inputs use that form); drops entries with neither type, value nor frames, and moves a
    lone top-level ``stacktrace`` into a single exception that lacks one.
    """
    raw = interface(event, "exception")
    single = mapping(raw)
    if single is not None and "values" not in single:
        items: list[JsonMap] = [single]
    else:
        items = values_list(raw)
    items = [exc for exc in items if _is_usable_exception(exc)]
    if len(items) == 1 and not frames(items[0].get("stacktrace")):
        top = interface(event, "stacktrace")
        if frames(top):
            items = [{**items[0], "stacktrace": top}]
    return items


def mechanism(exc: JsonMap) -> JsonMap:
    return mapping(exc.get("mechanism")) or {}


def is_synthetic(exc: JsonMap) -> bool:
    return mechanism(exc).get("synthetic") is True


def platform(event: JsonMap) -> str:
    return text(event.get("platform")) or "other"


def frame_platform(frame: JsonMap, event_platform: str) -> str:
    return text(frame.get("platform")) or event_platform


def _logentry(event: JsonMap) -> JsonMap | None:
    entry = mapping(event.get("logentry"))
    if entry is None:
        entry = mapping(interface(event, "logentry"))
    if entry is None:
        entry = mapping(event.get("message"))  # very old clients sent the interface here
    return entry


def message_for_grouping(event: JsonMap) -> str | None:
    """The template (``logentry.message``) preferred over the rendered text, as Sentry groups."""
    entry = _logentry(event)
    if entry is not None:
        found = text(entry.get("message")) or text(entry.get("formatted"))
        if found:
            return found
    return text(event.get("message")) or None


def formatted_message(event: JsonMap) -> str | None:
    """The rendered message a human reads: ``formatted``, else the plain or template text."""
    entry = _logentry(event)
    if entry is not None:
        found = text(entry.get("formatted")) or text(entry.get("message"))
        if found:
            return found
    return text(event.get("message")) or None


def tag_value(event: JsonMap, key: str) -> str | None:
    """A tag from ``tags`` sent as an object or as a list of ``[key, value]`` pairs."""
    tags = event.get("tags")
    if isinstance(tags, Mapping):
        return text(tags.get(key))
    if isinstance(tags, list | tuple):
        for pair in tags:
            if isinstance(pair, list | tuple) and len(pair) == 2 and pair[0] == key:
                found = text(pair[1])
                if found is not None:
                    return found
    return None

"""Exceptions and their mechanism (docs/protocol.md, "Exceptions and stack traces").

``exception.values`` lists the oldest (root cause) first and the raised exception last; an entry
with neither a type nor a value is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

from vedette.processing.coerce import field_bool, field_int, field_str, mapping, put
from vedette.processing.interfaces.shapes import Json, values_list
from vedette.processing.interfaces.stacktrace import normalize_stacktrace
from vedette.processing.trim import (
    MESSAGE_CHARS,
    SHORT_CHARS,
    SMALL_BAG,
    SYMBOL_CHARS,
    URL_CHARS,
    Notes,
    Path,
    path_name,
    trim_bag,
    trim_str,
)

MAX_EXCEPTIONS = 100


def normalize_mechanism(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        if isinstance(value, str) and value.strip():  # legacy: mechanism as its type name
            return {"type": trim_str(value.strip(), SHORT_CHARS, (*path, "type"), notes)}
        return None
    mechanism: Json = {}
    mech_type = field_str(raw.get("type"), SHORT_CHARS, (*path, "type"), notes)
    mechanism["type"] = mech_type or "generic"
    for key in ("synthetic", "handled", "is_exception_group"):
        put(mechanism, key, field_bool(raw.get(key), (*path, key), notes))
    for key, limit in (("description", MESSAGE_CHARS), ("help_link", URL_CHARS)):
        put(mechanism, key, field_str(raw.get(key), limit, (*path, key), notes))
    put(mechanism, "source", field_str(raw.get("source"), SHORT_CHARS, (*path, "source"), notes))
    for key in ("exception_id", "parent_id"):
        number = field_int(raw.get(key), (*path, key), notes)
        if number is not None and number >= 0:
            mechanism[key] = number
    for key in ("data", "meta"):
        if isinstance(raw.get(key), Mapping):
            mechanism[key] = trim_bag(raw.get(key), (*path, key), notes, SMALL_BAG)
    return mechanism


def normalize_exception(value: object, path: Path, notes: Notes) -> Json | None:
    """One exception; None (with an error) when it has neither a type nor a value."""
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="exception is not an object")
        return None
    exc: Json = {}
    exc_type = field_str(raw.get("type"), SYMBOL_CHARS, (*path, "type"), notes)
    exc_value = field_str(raw.get("value"), MESSAGE_CHARS, (*path, "value"), notes, strip=False)
    mechanism = normalize_mechanism(raw.get("mechanism"), (*path, "mechanism"), notes)
    synthetic = mechanism is not None and mechanism.get("synthetic") is True
    if exc_type is None and exc_value is not None and not synthetic:
        exc_type, exc_value = _split_type_value(exc_value)
    if exc_type is None and not exc_value:
        notes.error("missing_attribute", path_name(path), None, reason="type or value required")
        return None
    put(exc, "type", exc_type)
    put(exc, "value", exc_value)
    put(exc, "module", field_str(raw.get("module"), SYMBOL_CHARS, (*path, "module"), notes))
    thread_id = raw.get("thread_id")
    if isinstance(thread_id, int) and not isinstance(thread_id, bool):
        exc["thread_id"] = field_int(thread_id, (*path, "thread_id"), notes)
    elif isinstance(thread_id, str):
        exc["thread_id"] = trim_str(thread_id, SHORT_CHARS, (*path, "thread_id"), notes)
    put(exc, "mechanism", mechanism)
    for key in ("stacktrace", "raw_stacktrace"):
        put(exc, key, normalize_stacktrace(raw.get(key), (*path, key), notes))
    return {key: item for key, item in exc.items() if item is not None}


def _split_type_value(value: str) -> tuple[str | None, str]:
    """Relay: an exception without a type whose value reads ``Type: text`` is split in two.

    Not for synthetic exceptions (the caller checks): Node's ``captureMessage("kept: order 3")``
    is a message, and its first word is no exception type.
    """
    head, sep, tail = value.partition(":")
    if sep and head and head.replace("_", "a").isalnum() and head.isascii():
        return head, tail.strip()
    return None, value


def normalize_exceptions(value: object, path: Path, notes: Notes) -> list[Json]:
    found = values_list(value)
    if found is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="expected exception values")
        return []
    entries, _ = found
    result: list[Json] = []
    for index, item in enumerate(entries[:MAX_EXCEPTIONS]):
        exc = normalize_exception(item, (*path, "values", index), notes)
        if exc is not None:
            result.append(exc)
    if len(entries) > MAX_EXCEPTIONS:
        notes.annotate((*path, "values"), len=len(entries))
    return result

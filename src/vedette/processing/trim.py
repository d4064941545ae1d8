"""Trimming and annotation helpers for normalisation (docs/protocol.md, "Trimming").

Fields are never a reason to reject an event: oversized strings are cut, databags are cut by
depth and by size, and every cut is recorded in the event's ``_meta`` tree so the UI can say
"this was longer" (``{"": {"len": original_length}}``, Relay's shape).

Everything here works on untrusted values: recursion is bounded by the bag depth, non-JSON
values are dropped, and strings are made storable (no lone surrogates, no NUL characters).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from vedette.processing.memo import ENTRY_BYTES, BoundedMemo, approx_bytes, compact

Path = tuple[str | int, ...]

# Processing errors kept per event: enough to explain a bad payload, bounded for 10,000-tag events.
MAX_ERRORS = 100
# Longest string kept in an ``errors`` entry's ``value`` (it is a hint, not a copy).
ERROR_VALUE_CHARS = 200

# String limits by kind (Relay's MaxChars, relay-event-schema processor/attrs.rs).
MESSAGE_CHARS = 8192
SYMBOL_CHARS = 256
PATH_CHARS = 256
TAG_CHARS = 200
CULPRIT_CHARS = 200
LOGGER_CHARS = 64
ENVIRONMENT_CHARS = 64
DIST_CHARS = 64
SHORT_CHARS = 128
URL_CHARS = 2048
CONTEXT_LINE_CHARS = 1024
HEADER_VALUE_CHARS = 4096

# Deepest databag level ever kept (Relay's deepest bag size class allows about 10 levels).
MAX_BAG_DEPTH = 10
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


@dataclass(frozen=True, slots=True)
class BagLimit:
    """How deep and how big (in characters of JSON, roughly) one databag may be."""

    depth: int
    size: int


# Relay's BagSize classes, adapted: extra is "massive", request bodies and contexts "large".
EXTRA_BAG = BagLimit(MAX_BAG_DEPTH, 256 * 1024)
EXTRA_VALUE_BAG = BagLimit(MAX_BAG_DEPTH - 1, 16 * 1024)
LARGE_BAG = BagLimit(7, 8 * 1024)
CONTEXT_BAG = BagLimit(5, 8 * 1024)
VARS_BAG = BagLimit(5, 8 * 1024)
SPAN_DATA_BAG = BagLimit(5, 16 * 1024)
MEDIUM_BAG = BagLimit(5, 4 * 1024)
SMALL_BAG = BagLimit(3, 2 * 1024)
OPAQUE_BAG = BagLimit(MAX_BAG_DEPTH, 256 * 1024)


@dataclass(slots=True)
class Notes:
    """What normalisation learned about a payload: processing errors and the ``_meta`` tree."""

    meta: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    dropped_errors: int = 0

    def annotate(self, path: Path, **entry: Any) -> None:
        """Merge ``entry`` into the ``""`` slot of the ``_meta`` node at ``path``."""
        node = self.meta
        for segment in path:
            child = node.get(str(segment))
            if not isinstance(child, dict):
                child = {}
                node[str(segment)] = child
            node = child
        slot = node.get("")
        if not isinstance(slot, dict):
            slot = {}
            node[""] = slot
        for key, value in entry.items():
            if key in ("rem", "err") and isinstance(slot.get(key), list):
                slot[key].extend(value)
            else:
                slot[key] = value

    def error(self, kind: str, name: str, value: object = None, **extra: Any) -> None:
        """Record a processing error ``{"type", "name", "value"}`` (bounded in count and size)."""
        if len(self.errors) >= MAX_ERRORS:
            self.dropped_errors += 1
            return
        entry: dict[str, Any] = {"type": kind, "name": name, "value": error_value(value)}
        entry.update(extra)
        self.errors.append(entry)


def error_value(value: object) -> object:
    """A short, JSON-safe hint of an invalid value for the ``errors`` list."""
    if value is None or isinstance(value, bool | int):
        return value if not isinstance(value, int) or _INT_MIN <= value <= _INT_MAX else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = clean_str(value)
        return text if len(text) <= ERROR_VALUE_CHARS else text[: ERROR_VALUE_CHARS - 3] + "..."
    if isinstance(value, Mapping):
        return "<object>"
    if isinstance(value, list | tuple):
        return "<array>"
    return None


def path_name(path: Path) -> str:
    return ".".join(str(segment) for segment in path)


def clean_str(value: str) -> str:
    """Make a decoded string storable anywhere (UTF-8 encodable, no NUL for PostgreSQL)."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def trim_str(value: str, limit: int, path: Path, notes: Notes) -> str:
    """Cut ``value`` to ``limit`` characters (ending in "..."), noting the original length."""
    value = clean_str(value)
    if len(value) <= limit:
        return value
    keep = max(limit - 3, 0)
    notes.annotate(path, len=len(value), rem=[["!limit", "s", keep, limit]])
    return value[:keep] + "..."


def trim_bag(value: object, path: Path, notes: Notes, limit: BagLimit) -> Any:
    """A JSON-safe copy of ``value`` cut to ``limit``'s depth and size, cuts noted in ``_meta``.

    Containers deeper than the limit are removed (``null`` with a remark); once the size budget
    is spent the remaining keys/items are dropped and the container's original length noted.
    """
    max_depth = min(limit.depth, MAX_BAG_DEPTH)
    if _fits_as_is(value, limit.size, max_depth):
        return value
    budget = [limit.size]
    return _bag(value, path, notes, 0, max_depth, budget)


def _fits_as_is(value: object, size: int, max_depth: int) -> bool:
    """Whether a container needs no trimming at all, decided mostly at C speed.

    SDKs send databags that are already JSON and mostly small: when the serialised form is
    within the size, nested no deeper than allowed and free of what storage refuses (NUL,
    lone surrogates, huge integers, non-string keys: orjson rejects the last three), the
    per-node walk below would return an equal copy, so skip it.
    """
    if not isinstance(value, dict | list) or not value:
        return False
    try:
        encoded = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return len(encoded) <= size and _text_fits(encoded, max_depth)


def _text_fits(encoded: bytes, max_depth: int) -> bool:
    """Whether the value whose JSON text this is holds no NUL (``\\u0000``) and is nested no
    deeper than ``max_depth``: its bracket count bounds its nesting (most bags), else its
    levels are counted. Remembered for texts of 512 bytes to 16 KB: an error that repeats
    repeats its frame variables, and searching 2.7 KB of them three times costs more than a
    lookup (a counted walk was 2.1 of 5.7 ms per 20-frame event)."""
    if not _CACHED_MIN_BYTES <= len(encoded) <= _CACHED_TEXT_BYTES:
        return _fits(encoded, max_depth)
    key = (encoded, max_depth)
    found = BAG_TEXTS.get(key)
    if found is None:
        found = _fits(encoded, max_depth)
        BAG_TEXTS.put((compact(encoded), max_depth), found, ENTRY_BYTES + approx_bytes(key))
    return found


def _fits(encoded: bytes, max_depth: int) -> bool:
    if b"\\u0000" in encoded:
        return False
    if encoded.count(b"[") + encoded.count(b"{") <= max_depth:
        return True
    return nesting(orjson.loads(encoded), max_depth) <= max_depth


# Bags are cut at 8 KB (most kinds), so texts up to 16 KB are cached, 4 MiB of them at most
# (exact-size copies: orjson's own bytes hold more); shorter texts than 512 bytes are checked
# faster than looked up.
_CACHED_MIN_BYTES = 512
_CACHED_TEXT_BYTES = 16 * 1024
BAG_TEXTS: BoundedMemo[bool] = BoundedMemo(1024, max_weight=4 * 1024 * 1024, recency=False)


# isinstance with a tuple: ``dict | list`` builds a union at each evaluation, twice as slow.
_CONTAINERS = (dict, list)


def nesting(value: dict[Any, Any] | list[Any], limit: int) -> int:
    """Container levels in ``value`` (a flat list is 1), counted no further than ``limit + 1``.

    An empty container adds no level (one below the deepest counted may hold one). Level by
    level rather than by recursion: a list of 60 tag pairs costs one comprehension per level,
    not a call per pair.
    """
    level = 1
    layer: list[Any] = [value]
    while level <= limit:
        layer = [
            child
            for container in layer
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, _CONTAINERS) and child
        ]
        if not layer:
            return level
        level += 1
    return level


def _bag(
    value: object, path: Path, notes: Notes, depth: int, max_depth: int, budget: list[int]
) -> Any:
    if value is None or isinstance(value, bool):
        budget[0] -= 5
        return value
    if isinstance(value, int):
        budget[0] -= 8
        return value if _INT_MIN <= value <= _INT_MAX else str(value)
    if isinstance(value, float):
        budget[0] -= 8
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _bag_str(value, path, notes, budget)
    if isinstance(value, Mapping | list | tuple):
        if depth >= max_depth:
            if not value:
                return {} if isinstance(value, Mapping) else []
            notes.annotate(path, len=len(value), rem=[["!limit", "x"]])
            return None
        if isinstance(value, Mapping):
            return _bag_object(value, path, notes, depth, max_depth, budget)
        return _bag_array(value, path, notes, depth, max_depth, budget)
    return None


def _bag_str(value: str, path: Path, notes: Notes, budget: list[int]) -> str:
    allowed = max(budget[0], 16)
    result = trim_str(value, allowed, path, notes)
    budget[0] -= len(result) + 2
    return result


def _bag_object(
    value: Mapping[Any, Any],
    path: Path,
    notes: Notes,
    depth: int,
    max_depth: int,
    budget: list[int],
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in value.items():
        if budget[0] <= 0:
            notes.annotate(path, len=len(value))
            break
        name = clean_str(key if isinstance(key, str) else str(key))[:PATH_CHARS]
        budget[0] -= len(name) + 4
        result[name] = _bag(item, (*path, name), notes, depth + 1, max_depth, budget)
    return result


def _bag_array(
    value: Sequence[Any], path: Path, notes: Notes, depth: int, max_depth: int, budget: list[int]
) -> list[Any]:
    result: list[Any] = []
    for index, item in enumerate(value):
        if budget[0] <= 0:
            notes.annotate(path, len=len(value))
            break
        budget[0] -= 1
        result.append(_bag(item, (*path, index), notes, depth + 1, max_depth, budget))
    return result


def merge_meta(base: dict[str, Any], extra: Mapping[str, Any], depth: int = 0) -> None:
    """Deep-merge annotation tree ``extra`` into ``base`` (lists under ``""`` are extended)."""
    for key, value in extra.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping) and depth < 64:
            if key == "":
                for entry_key, entry in value.items():
                    old = current.get(entry_key)
                    if isinstance(old, list) and isinstance(entry, list):
                        old.extend(entry)
                    else:
                        current[entry_key] = entry
            else:
                merge_meta(current, value, depth + 1)
        else:
            base[key] = value

"""Breadcrumbs, kept in SDK order, oldest first (docs/protocol.md, "Breadcrumbs")."""

from __future__ import annotations

from vedette.processing.coerce import field_str, hex_id, is_mapping, mapping, put
from vedette.processing.interfaces.level import normalize_level
from vedette.processing.interfaces.shapes import Json, values_list
from vedette.processing.timestamps import parse_timestamp
from vedette.processing.trim import (
    MEDIUM_BAG,
    MESSAGE_CHARS,
    SHORT_CHARS,
    Notes,
    Path,
    path_name,
    trim_bag,
)

MAX_BREADCRUMBS = 100


def normalize_breadcrumbs(value: object, path: Path, notes: Notes) -> list[Json]:
    """Breadcrumbs in SDK order, the last MAX_BREADCRUMBS kept, timestamps as floats."""
    found = values_list(value)
    if found is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="expected breadcrumbs")
        return []
    entries, _ = found
    start = max(len(entries) - MAX_BREADCRUMBS, 0)
    if start:
        notes.annotate((*path, "values"), len=len(entries))
    result: list[Json] = []
    for index in range(start, len(entries)):
        crumb = _breadcrumb(entries[index], (*path, "values", index), notes)
        if crumb is not None:
            result.append(crumb)
    return result


def _breadcrumb(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        return None
    crumb: Json = {}
    if raw.get("timestamp") is not None:
        stamp = parse_timestamp(raw.get("timestamp"))
        if stamp is None:
            notes.error("invalid_data", path_name((*path, "timestamp")), raw.get("timestamp"))
        put(crumb, "timestamp", stamp)
    crumb["type"] = field_str(raw.get("type"), SHORT_CHARS, (*path, "type"), notes) or "default"
    put(crumb, "category", field_str(raw.get("category"), SHORT_CHARS, (*path, "category"), notes))
    crumb["level"] = normalize_level(raw.get("level"), (*path, "level"), notes) or "info"
    put(
        crumb,
        "message",
        field_str(raw.get("message"), MESSAGE_CHARS, (*path, "message"), notes, strip=False),
    )
    if is_mapping(raw.get("data")):
        crumb["data"] = trim_bag(raw.get("data"), (*path, "data"), notes, MEDIUM_BAG)
    put(crumb, "event_id", hex_id(raw.get("event_id"), 32))
    put(crumb, "origin", field_str(raw.get("origin"), SHORT_CHARS, (*path, "origin"), notes))
    return crumb

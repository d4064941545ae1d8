"""Threads: each may carry its own stack trace (docs/protocol.md, "Exceptions and stack traces")."""

from __future__ import annotations

from collections.abc import Mapping

from vedette.processing.coerce import field_bool, field_int, field_str, mapping, put
from vedette.processing.interfaces.shapes import Json, values_list
from vedette.processing.interfaces.stacktrace import normalize_stacktrace
from vedette.processing.trim import SHORT_CHARS, SMALL_BAG, SYMBOL_CHARS, Notes, Path, trim_bag

MAX_THREADS = 100


def normalize_threads(value: object, path: Path, notes: Notes) -> list[Json]:
    found = values_list(value)
    if found is None:
        return []
    entries, _ = found
    result: list[Json] = []
    for index, item in enumerate(entries[:MAX_THREADS]):
        raw = mapping(item)
        if raw is None:
            continue
        here = (*path, "values", index)
        thread: Json = {}
        thread_id = raw.get("id")
        if isinstance(thread_id, int) and not isinstance(thread_id, bool):
            put(thread, "id", field_int(thread_id, (*here, "id"), notes))
        else:
            put(thread, "id", field_str(thread_id, SHORT_CHARS, (*here, "id"), notes))
        put(thread, "name", field_str(raw.get("name"), SYMBOL_CHARS, (*here, "name"), notes))
        put(thread, "state", field_str(raw.get("state"), SHORT_CHARS, (*here, "state"), notes))
        for key in ("crashed", "current", "main"):
            put(thread, key, field_bool(raw.get(key), (*here, key), notes))
        for key in ("stacktrace", "raw_stacktrace"):
            put(thread, key, normalize_stacktrace(raw.get(key), (*here, key), notes))
        if isinstance(raw.get("held_locks"), Mapping):
            thread["held_locks"] = trim_bag(
                raw.get("held_locks"), (*here, "held_locks"), notes, SMALL_BAG
            )
        if thread:
            result.append(thread)
    return result

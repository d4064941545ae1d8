"""Normalisers for the event interfaces (protocol brief §5.2-§5.4, §6.1).

Each function takes one untrusted value, the path where it sits in the event and the ``Notes``
collecting errors and ``_meta``; it returns the normalised value or None when nothing valid is
left. Unknown keys inside interfaces are dropped silently (Relay's RemoveOtherProcessor); only
unknown *top-level* keys become errors (that is the caller's job).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import orjson

from vedette.processing.coerce import (
    field_bool,
    field_float,
    field_int,
    field_str,
    finite_float,
    hex_id,
    lenient_str,
    mapping,
    put,
)
from vedette.processing.memo import BoundedMemo
from vedette.processing.timestamps import parse_timestamp
from vedette.processing.trim import (
    CONTEXT_BAG,
    CONTEXT_LINE_CHARS,
    HEADER_VALUE_CHARS,
    LARGE_BAG,
    MEDIUM_BAG,
    MESSAGE_CHARS,
    PATH_CHARS,
    SHORT_CHARS,
    SMALL_BAG,
    SPAN_DATA_BAG,
    SYMBOL_CHARS,
    URL_CHARS,
    VARS_BAG,
    Notes,
    Path,
    clean_str,
    path_name,
    trim_bag,
    trim_str,
)
from vedette.processing.useragent import browser_context, os_context

Json = dict[str, Any]

# Frames kept per stack trace; beyond it frames go from the middle (head and tail stay).
MAX_FRAMES = 250
# Frames beyond this many lose vars and source context in the middle (Relay's slim_frame_data).
FRAME_DATA_ALLOWANCE = 50
MAX_EXCEPTIONS = 100
MAX_THREADS = 100
MAX_BREADCRUMBS = 100
MAX_SPANS = 1000
MAX_CONTEXT_LINES = 20
MAX_PAIRS = 200
MAX_CONTEXTS = 100
MAX_MEASUREMENTS = 100

LEVELS = ("fatal", "error", "warning", "info", "debug")
_LEVEL_ALIASES = {"log": "info", "critical": "fatal", "warn": "warning", "err": "error"}
_PYTHON_LEVELS = {0: "debug", 10: "debug", 20: "info", 30: "warning", 40: "error", 50: "fatal"}

SPAN_STATUSES = frozenset(
    {"ok", "cancelled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
     "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
     "aborted", "out_of_range", "unimplemented", "internal_error", "unavailable", "data_loss",
     "unauthenticated"}
)  # fmt: skip
_STATUS_ALIASES = {"unknown_error": "unknown", "canceled": "cancelled", "error": "internal_error"}

_FRAME_STRINGS: dict[str, int] = {
    "filename": PATH_CHARS,
    "abs_path": PATH_CHARS,
    "module": SYMBOL_CHARS,
    "package": PATH_CHARS,
    "function": SYMBOL_CHARS,
    "raw_function": SYMBOL_CHARS,
    "symbol": SYMBOL_CHARS,
    "platform": SHORT_CHARS,
    "context_line": CONTEXT_LINE_CHARS,
    "instruction_addr": SHORT_CHARS,
    "symbol_addr": SHORT_CHARS,
    "image_addr": SHORT_CHARS,
    "addr_mode": SHORT_CHARS,
    "function_id": SHORT_CHARS,
    "trust": SHORT_CHARS,
    "lang": SHORT_CHARS,
    "source_link": URL_CHARS,
}
_FRAME_BOOLS = ("in_app", "stack_start")
_FRAME_INTS = ("lineno", "colno")


# -- shared shapes -------------------------------------------------------------------------


def values_list(value: object) -> tuple[Sequence[object], bool] | None:
    """The entries of a ``{"values": [...]}`` container, a bare list, or one bare object.

    Returns the list and whether the container form was used, or None when nothing usable.
    """
    if isinstance(value, list | tuple):
        return value, False
    if isinstance(value, Mapping):
        inner = value.get("values")
        if isinstance(inner, list | tuple):
            return inner, True
        if "values" not in value and value:
            return [value], False
    return None


def normalize_level(value: object, path: Path, notes: Notes) -> str | None:
    """``fatal|error|warning|info|debug`` from names, aliases or Python's numeric levels."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        found = _PYTHON_LEVELS.get(value)
    elif isinstance(value, float):
        found = _PYTHON_LEVELS.get(int(value)) if value.is_integer() else None
    elif isinstance(value, str):
        text = value.strip().lower()
        found = text if text in LEVELS else _LEVEL_ALIASES.get(text)
        if found is None and text.isdigit():
            found = _PYTHON_LEVELS.get(int(text))
    else:
        found = None
    if found is None:
        notes.error("invalid_data", path_name(path), value, reason="unknown level")
    return found


def normalize_span_status(value: object, path: Path, notes: Notes) -> str | None:
    if value is None:
        return None
    text = value.strip().lower() if isinstance(value, str) else None
    if text is not None:
        text = _STATUS_ALIASES.get(text, text)
    if text not in SPAN_STATUSES:
        notes.error("invalid_data", path_name(path), value, reason="unknown span status")
        return None
    return text


def _string_list(value: object, limit: int, path: Path, notes: Notes) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        notes.error("invalid_data", path_name(path), value, reason="expected a list of strings")
        return None
    result: list[str] = []
    for index, item in enumerate(value[:MAX_CONTEXT_LINES]):
        if type(item) is str and len(item) <= limit and item.isascii() and "\x00" not in item:
            result.append(item)  # the common case: nothing to clean or cut
            continue
        text = "" if item is None else lenient_str(item)
        result.append(trim_str(text or "", limit, (*path, index), notes))
    if len(value) > MAX_CONTEXT_LINES:
        notes.annotate(path, len=len(value))
    return result


# -- stack traces and exceptions (§5.2) ----------------------------------------------------


def normalize_frame(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="frame is not an object")
        return None
    key = _head_key(raw)
    head = None if key is None else _cached_head(key, raw, path)
    if head is None:
        frame = _frame_head(raw, path, notes)
        _frame_vars(raw, frame, path, notes)
        for key_name in ("data", "lock"):
            if isinstance(raw.get(key_name), Mapping):
                frame[key_name] = trim_bag(raw.get(key_name), (*path, key_name), notes, SMALL_BAG)
        return frame
    # A cached head never holds "data" or "lock" objects (see _head_key), so the variables,
    # normalised for this event, go last as they would.
    frame = {name: list(item) if type(item) is tuple else item for name, item in head}
    _frame_vars(raw, frame, path, notes)
    return frame


def _frame_head(raw: Mapping[str, object], path: Path, notes: Notes) -> Json:
    """Everything of a frame that comes before its variables."""
    frame: Json = {}
    # Absent fields are skipped before building their paths: a frame has a few of these keys,
    # and this runs for every frame of every event.
    for key, limit in _FRAME_STRINGS.items():
        if (field := raw.get(key)) is not None:
            put(frame, key, field_str(field, limit, (*path, key), notes, strip=False))
    for key in _FRAME_INTS:
        if (field := raw.get(key)) is not None:
            number = field_int(field, (*path, key), notes)
            if number is not None and number >= 0:
                frame[key] = number
    for key in _FRAME_BOOLS:
        if (field := raw.get(key)) is not None:
            put(frame, key, field_bool(field, (*path, key), notes))
    for key in ("pre_context", "post_context"):
        put(frame, key, _string_list(raw.get(key), CONTEXT_LINE_CHARS, (*path, key), notes))
    return frame


def _frame_vars(raw: Mapping[str, object], frame: Json, path: Path, notes: Notes) -> None:
    frame_vars = raw.get("vars")
    if isinstance(frame_vars, list | tuple):  # Relay turns array vars into an indexed object
        frame_vars = {str(index): item for index, item in enumerate(frame_vars)}
    if isinstance(frame_vars, Mapping):
        frame["vars"] = trim_bag(frame_vars, (*path, "vars"), notes, VARS_BAG)


# Normalised frames without their variables, by the JSON text of the raw frame without them:
# an error that repeats repeats its frames (only the variables differ), and normalising the
# rest was most of the normalisation time (docs/benchmarks.md). Bounded by 4 MB of keys of at
# most 4 KB each (an SDK frame without variables is about 1 KB); with the values, 13 MB at
# worst (measured with tracemalloc, frames of random 4 KB text).
_ONLY_STR = {str}
FRAME_HEADS: BoundedMemo[tuple[tuple[str, Any], ...] | bool] = BoundedMemo(
    8192, max_weight=4 * 1024 * 1024
)
_MAX_HEAD_KEY_BYTES = 4096


def _head_key(raw: Mapping[str, object]) -> bytes | None:
    """The JSON text of the frame without ``vars``, when that text determines the frame.

    Only for a plain dict of strings, exact ints, booleans, nulls and lists of strings (every
    SDK frame): for these orjson's text is one-to-one. Floats (NaN and null share a text),
    nested objects (``data``, ``lock``), tuples and subclasses get no key, and neither do
    huge ints, lone surrogates and non-string keys (orjson refuses them).
    """
    if type(raw) is not dict:
        return None
    head = raw
    if "vars" in raw:
        head = raw.copy()
        del head["vars"]
    for item in head.values():
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is list and (not item or set(map(type, item)) == _ONLY_STR):
            continue
        return None
    try:
        key = orjson.dumps(head)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return key if len(key) <= _MAX_HEAD_KEY_BYTES else None


def _cached_head(
    key: bytes, raw: Mapping[str, object], path: Path
) -> tuple[tuple[str, Any], ...] | None:
    """The normalised head for ``key``, computed on a miss. None when normalising it has
    something to say (an error or a cut): those frames take the full path, so that their
    remarks land in this event's ``_meta`` at this frame's path (remembered as ``False``)."""
    head = FRAME_HEADS.get(key)
    if isinstance(head, tuple):
        return head
    if head is False:
        return None
    scratch = Notes()
    frame = _frame_head(raw, path, scratch)
    if scratch.errors or scratch.meta or scratch.dropped_errors:
        FRAME_HEADS.put(key, False, len(key))
        return None
    head = tuple(
        (name, tuple(item) if type(item) is list else item) for name, item in frame.items()
    )
    FRAME_HEADS.put(key, head, len(key))
    return head


def normalize_stacktrace(value: object, path: Path, notes: Notes) -> Json | None:
    """``{"frames": [...], ...}`` with frames trimmed from the middle above MAX_FRAMES."""
    raw = mapping(value)
    frames_in: object = raw.get("frames") if raw is not None else value
    if not isinstance(frames_in, list | tuple):
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="stacktrace without frames")
        return None
    stacktrace: Json = {}
    omitted = _omitted_range(len(frames_in))
    selected = list(enumerate(frames_in))
    if omitted is not None:
        start, end = omitted
        selected = selected[:start] + selected[end:]
        notes.annotate((*path, "frames"), len=len(frames_in))
    frames: list[Json] = []
    for index, item in selected:
        frame = normalize_frame(item, (*path, "frames", index), notes)
        if frame is not None:
            frames.append(frame)
    _slim_frames(frames)
    stacktrace["frames"] = frames
    if omitted is not None:
        stacktrace["frames_omitted"] = list(omitted)
    elif raw is not None:
        given = raw.get("frames_omitted")
        if (
            isinstance(given, list)
            and len(given) == 2
            and all(isinstance(i, int) and not isinstance(i, bool) for i in given)
        ):
            stacktrace["frames_omitted"] = list(given)
    if raw is not None:
        if isinstance(raw.get("registers"), Mapping):
            stacktrace["registers"] = trim_bag(
                raw.get("registers"), (*path, "registers"), notes, SMALL_BAG
            )
        put(stacktrace, "lang", field_str(raw.get("lang"), SHORT_CHARS, (*path, "lang"), notes))
        put(stacktrace, "snapshot", field_bool(raw.get("snapshot"), (*path, "snapshot"), notes))
    return stacktrace


def _omitted_range(count: int) -> tuple[int, int] | None:
    """The ``[start, end)`` slice of frames dropped so that MAX_FRAMES remain, or None."""
    if count <= MAX_FRAMES:
        return None
    head = MAX_FRAMES // 2
    return head, count - (MAX_FRAMES - head)


def _slim_frames(frames: list[Json]) -> None:
    """Drop vars and source context from middle frames of long traces (keeps size bounded)."""
    if len(frames) <= FRAME_DATA_ALLOWANCE:
        return
    head = FRAME_DATA_ALLOWANCE // 2
    for frame in frames[head : len(frames) - (FRAME_DATA_ALLOWANCE - head)]:
        for key in ("vars", "pre_context", "post_context"):
            frame.pop(key, None)


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


# -- breadcrumbs (§5.2) ----------------------------------------------------------------------


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
    if isinstance(raw.get("data"), Mapping):
        crumb["data"] = trim_bag(raw.get("data"), (*path, "data"), notes, MEDIUM_BAG)
    put(crumb, "event_id", hex_id(raw.get("event_id"), 32))
    put(crumb, "origin", field_str(raw.get("origin"), SHORT_CHARS, (*path, "origin"), notes))
    return crumb


# -- request (§5.4) ----------------------------------------------------------------------------


def normalize_request(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="request is not an object")
        return None
    request: Json = {}
    url = field_str(raw.get("url"), URL_CHARS, (*path, "url"), notes)
    url_query: str | None = None
    url_fragment: str | None = None
    if url is not None:
        url, _, url_fragment = url.partition("#")
        url, _, url_query = url.partition("?")
        request["url"] = url
    method = field_str(raw.get("method"), 32, (*path, "method"), notes)
    if method is not None and method.replace("-", "").replace("_", "").isalpha():
        request["method"] = method.upper()
    query = _query_pairs(raw.get("query_string"), (*path, "query_string"), notes)
    if not query and url_query:
        query = _query_pairs(url_query, (*path, "query_string"), notes)
    if query:
        request["query_string"] = query
    fragment = field_str(raw.get("fragment"), URL_CHARS, (*path, "fragment"), notes)
    put(request, "fragment", fragment or url_fragment or None)
    headers = _header_pairs(raw.get("headers"), (*path, "headers"), notes)
    cookies = _cookie_pairs(raw.get("cookies"), (*path, "cookies"), notes)
    # Relay: a Cookie header becomes request.cookies (when those are missing) and leaves headers.
    cookie_header = next((v for k, v in headers if k == "Cookie"), None)
    if cookie_header is not None:
        if not cookies:
            cookies = _cookie_pairs(cookie_header, (*path, "cookies"), notes)
        headers = [pair for pair in headers if pair[0] != "Cookie"]
    if headers:
        request["headers"] = headers
    if cookies:
        request["cookies"] = cookies
    content_type = next((v for k, v in headers if k == "Content-Type"), None)
    inferred = field_str(
        raw.get("inferred_content_type"), SHORT_CHARS, (*path, "inferred_content_type"), notes
    )
    data, inferred_from_data = _request_data(raw.get("data"), (*path, "data"), notes)
    put(request, "data", data)
    inferred = inferred or inferred_from_data or _media_type(content_type)
    put(request, "inferred_content_type", inferred)
    if isinstance(raw.get("env"), Mapping):
        request["env"] = trim_bag(raw.get("env"), (*path, "env"), notes, LARGE_BAG)
    for key in ("api_target", "protocol"):
        put(request, key, field_str(raw.get(key), SHORT_CHARS, (*path, key), notes))
    body_size = field_int(raw.get("body_size"), (*path, "body_size"), notes)
    if body_size is not None and body_size >= 0:
        request["body_size"] = body_size
    return request or None


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media[:SHORT_CHARS] or None


def _request_data(value: object, path: Path, notes: Notes) -> tuple[Any, str | None]:
    """Request body as a databag; a JSON string body is parsed like Relay does."""
    if value is None:
        return None, None
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and len(text) <= 4 * LARGE_BAG.size:
            try:
                parsed = json.loads(text)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, dict | list):
                return trim_bag(parsed, path, notes, LARGE_BAG), "application/json"
        if not text:
            return None, None
    return trim_bag(value, path, notes, LARGE_BAG), None


def header_name(name: str) -> str:
    """``x-api-key`` -> ``X-Api-Key`` (HTTP header names are case-insensitive)."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.strip().split("-"))


def _pairs(value: object) -> Iterable[tuple[object, object]]:
    """Key/value pairs from an object or a list of two-element lists (others skipped)."""
    if isinstance(value, Mapping):
        yield from value.items()
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, list | tuple) and len(item) == 2:
                yield item[0], item[1]


def _pair_value(value: object) -> str | None:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        parts = [lenient_str(item) for item in value]
        return ", ".join(part for part in parts if part is not None)
    return lenient_str(value)


def _header_pairs(value: object, path: Path, notes: Notes) -> list[list[str]]:
    if value is None:
        return []
    if not isinstance(value, Mapping | list | tuple):
        notes.error("invalid_data", path_name(path), value, reason="expected headers")
        return []
    result: list[list[str]] = []
    for index, (key, item) in enumerate(_pairs(value)):
        if len(result) >= MAX_PAIRS:
            notes.annotate(path, len=len(value))
            break
        name = lenient_str(key)
        text = _pair_value(item)
        if not name or not name.strip() or text is None:
            continue
        text = trim_str(text, HEADER_VALUE_CHARS, (*path, index, 1), notes)
        result.append([header_name(name)[:SHORT_CHARS], text])
    return result


def _cookie_pairs(value: object, path: Path, notes: Notes) -> list[list[str]]:
    if value is None:
        return []
    if isinstance(value, str):
        pairs: list[tuple[object, object]] = []
        for chunk in value.split(";"):
            name, sep, content = chunk.partition("=")
            if sep and name.strip():
                pairs.append((name.strip(), content.strip()))
        return _string_pairs(pairs, path, notes)
    if not isinstance(value, Mapping | list | tuple):
        notes.error("invalid_data", path_name(path), value, reason="expected cookies")
        return []
    return _string_pairs(_pairs(value), path, notes)


def _query_pairs(value: object, path: Path, notes: Notes) -> list[list[str]]:
    """A query string in any shape (``a=1&b=2``, object, pairs) as ``[[name, value], ...]``."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip().lstrip("?")[: 4 * URL_CHARS]
        return _string_pairs(parse_qsl(text, keep_blank_values=True), path, notes)
    if not isinstance(value, Mapping | list | tuple):
        notes.error("invalid_data", path_name(path), value, reason="expected a query string")
        return []
    return _string_pairs(_pairs(value), path, notes)


def _string_pairs(
    pairs: Iterable[tuple[object, object]], path: Path, notes: Notes
) -> list[list[str]]:
    result: list[list[str]] = []
    for index, (key, item) in enumerate(pairs):
        if index >= MAX_PAIRS:
            notes.annotate(path, len=index + 1)
            break
        name = lenient_str(key)
        text = _pair_value(item)
        if not name or text is None:
            continue
        result.append(
            [
                trim_str(name, SYMBOL_CHARS, (*path, index, 0), notes),
                trim_str(text, HEADER_VALUE_CHARS, (*path, index, 1), notes),
            ]
        )
    return result


def request_header(request: Mapping[str, Any] | None, name: str) -> str | None:
    if request is None:
        return None
    headers = request.get("headers")
    if not isinstance(headers, list):
        return None
    return next((pair[1] for pair in headers if pair[0] == name), None)


# -- user (§5.4) -----------------------------------------------------------------------------

_USER_STRINGS = {
    "id": SHORT_CHARS,
    "email": SYMBOL_CHARS,
    "username": SHORT_CHARS,
    "name": SHORT_CHARS,
    "segment": SHORT_CHARS,
    "sentry_user": SHORT_CHARS,
}
_GEO_KEYS = ("city", "country_code", "region", "subdivision", "subregion")


def valid_ip(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def normalize_user(value: object, path: Path, notes: Notes, client_ip: str | None) -> Json | None:
    """User with a string id; unknown keys move into ``data``; ``{{auto}}`` IP resolved."""
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="user is not an object")
        return None
    user: Json = {}
    for key, limit in _USER_STRINGS.items():
        put(user, key, field_str(raw.get(key), limit, (*path, key), notes))
    ip = raw.get("ip_address")
    if isinstance(ip, str) and ip.strip() == "{{auto}}":
        put(user, "ip_address", valid_ip(client_ip))
    elif ip is not None:
        checked = valid_ip(ip)
        if checked is None:
            notes.error("invalid_data", path_name((*path, "ip_address")), ip, reason="not an IP")
        put(user, "ip_address", checked)
    geo = mapping(raw.get("geo"))
    if geo is not None:
        geo_out: Json = {}
        for key in _GEO_KEYS:
            put(geo_out, key, field_str(geo.get(key), SHORT_CHARS, (*path, "geo", key), notes))
        if geo_out:
            user["geo"] = geo_out
    data: dict[str, object] = {}
    given_data = raw.get("data")
    if isinstance(given_data, Mapping):
        data.update({str(key): item for key, item in given_data.items()})
    known = {*_USER_STRINGS, "ip_address", "geo", "data"}
    for key, item in raw.items():
        if key not in known and item is not None and key not in data:
            data[str(key)] = item
    if data:
        user["data"] = trim_bag(data, (*path, "data"), notes, MEDIUM_BAG)
    return user or None


# -- contexts (§5.3) -------------------------------------------------------------------------


def normalize_contexts(
    value: object, path: Path, notes: Notes, *, transaction: bool
) -> dict[str, Json]:
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="contexts is not an object")
        return {}
    contexts: dict[str, Json] = {}
    for alias_key, item in raw.items():
        alias = clean_str(str(alias_key)).strip()[:SHORT_CHARS]
        if len(contexts) >= MAX_CONTEXTS:
            notes.annotate(path, len=len(raw))
            break
        if not alias or item is None:
            continue
        if not isinstance(item, Mapping):
            notes.error("invalid_data", path_name((*path, alias)), item, reason="not an object")
            continue
        context = trim_bag(item, (*path, alias), notes, CONTEXT_BAG)
        ctx_type = context.get("type")
        context["type"] = (
            ctx_type.strip() if isinstance(ctx_type, str) and ctx_type.strip() else alias
        )
        if context["type"] == "trace":
            _normalize_trace_context(context, (*path, alias), notes, transaction=transaction)
        contexts[alias] = context
    return contexts


def _normalize_trace_context(context: Json, path: Path, notes: Notes, *, transaction: bool) -> None:
    for key, length in (("trace_id", 32), ("span_id", 16), ("parent_span_id", 16)):
        given = context.get(key)
        checked = hex_id(given, length)
        if checked is None:
            context.pop(key, None)
            if given is not None:
                notes.error("invalid_data", path_name((*path, key)), given, reason="invalid id")
        else:
            context[key] = checked
    status = normalize_span_status(context.get("status"), (*path, "status"), notes)
    context.pop("status", None)
    op = lenient_str(context.get("op"))
    context.pop("op", None)
    if op and op.strip():
        context["op"] = op.strip()[:SHORT_CHARS]
    if transaction:
        status = status or "unknown"
        context.setdefault("op", "default")
    put(context, "status", status)


def add_user_agent_contexts(contexts: dict[str, Json], user_agent: str | None) -> None:
    """Relay derives ``browser`` and ``client_os`` from the request's User-Agent."""
    if not user_agent:
        return
    if "browser" not in contexts:
        put(contexts, "browser", browser_context(user_agent))
    if "client_os" not in contexts:
        put(contexts, "client_os", os_context(user_agent))


# -- sdk, transaction_info ------------------------------------------------------------------


def normalize_sdk(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        return None
    sdk: Json = {}
    for key in ("name", "version"):
        put(sdk, key, field_str(raw.get(key), SHORT_CHARS, (*path, key), notes))
    integrations = raw.get("integrations")
    if isinstance(integrations, list):
        names = [lenient_str(item) for item in integrations[:MAX_PAIRS]]
        sdk["integrations"] = [name[:SHORT_CHARS] for name in names if name]
    packages = raw.get("packages")
    if isinstance(packages, list):
        kept: list[Json] = []
        for item in packages[:MAX_PAIRS]:
            package = mapping(item)
            if package is None:
                continue
            entry: Json = {}
            for key in ("name", "version"):
                text = lenient_str(package.get(key))
                if text:
                    entry[key] = text[:SHORT_CHARS]
            if entry:
                kept.append(entry)
        sdk["packages"] = kept
    if isinstance(raw.get("settings"), Mapping):
        sdk["settings"] = trim_bag(raw.get("settings"), (*path, "settings"), notes, SMALL_BAG)
    client_ip = valid_ip(raw.get("client_ip"))
    put(sdk, "client_ip", client_ip)
    return sdk or None


def normalize_transaction_info(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        return None
    info: Json = {}
    put(info, "source", field_str(raw.get("source"), SHORT_CHARS, (*path, "source"), notes))
    put(info, "original", field_str(raw.get("original"), SYMBOL_CHARS, (*path, "original"), notes))
    if isinstance(raw.get("changes"), list):
        info["changes"] = trim_bag(raw.get("changes"), (*path, "changes"), notes, SMALL_BAG)
    propagations = field_int(raw.get("propagations"), (*path, "propagations"), notes)
    put(info, "propagations", propagations)
    return info


# -- spans and measurements (§6.1) ----------------------------------------------------------

_SPAN_STRINGS = {
    "op": SHORT_CHARS,
    "description": MESSAGE_CHARS,
    "origin": SHORT_CHARS,
    "hash": SHORT_CHARS,
    "kind": SHORT_CHARS,
}


def normalize_spans(value: object, path: Path, notes: Notes) -> list[Json]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        notes.error("invalid_data", path_name(path), value, reason="spans is not a list")
        return []
    if len(value) > MAX_SPANS:
        notes.annotate(path, len=len(value))
    spans: list[Json] = []
    for index, item in enumerate(value[:MAX_SPANS]):
        span = _span(item, (*path, index), notes)
        if span is not None:
            spans.append(span)
    return spans


def _span(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="span is not an object")
        return None
    span: Json = {}
    for key, length in (
        ("trace_id", 32), ("span_id", 16), ("parent_span_id", 16), ("segment_id", 16)
    ):  # fmt: skip
        checked = hex_id(raw.get(key), length)
        if checked is None and raw.get(key) is not None:
            notes.error("invalid_data", path_name((*path, key)), raw.get(key), reason="invalid id")
        put(span, key, checked)
    for key in ("start_timestamp", "timestamp"):
        given = raw.get(key)
        stamp = parse_timestamp(given)
        if stamp is None and given is not None:
            notes.error("invalid_data", path_name((*path, key)), given, reason="invalid timestamp")
        put(span, key, stamp)
    for key, limit in _SPAN_STRINGS.items():
        put(span, key, field_str(raw.get(key), limit, (*path, key), notes, strip=False))
    put(span, "status", normalize_span_status(raw.get("status"), (*path, "status"), notes))
    for key in ("same_process_as_parent", "is_segment"):
        put(span, key, field_bool(raw.get(key), (*path, key), notes))
    exclusive = raw.get("exclusive_time")
    if exclusive is not None:
        put(span, "exclusive_time", field_float(exclusive, (*path, "exclusive_time"), notes))
    if isinstance(raw.get("data"), Mapping):
        span["data"] = trim_bag(raw.get("data"), (*path, "data"), notes, SPAN_DATA_BAG)
    tags = _span_tags(raw.get("tags"), (*path, "tags"), notes)
    if tags:
        span["tags"] = tags
    measurements = normalize_measurements(raw.get("measurements"), (*path, "measurements"), notes)
    if measurements:
        span["measurements"] = measurements
    if isinstance(raw.get("links"), list):
        span["links"] = trim_bag(raw.get("links"), (*path, "links"), notes, SMALL_BAG)
    return span


def _span_tags(value: object, path: Path, notes: Notes) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, item in _pairs(value):
        name = lenient_str(key)
        text = lenient_str(item)
        if name and text is not None and len(tags) < MAX_PAIRS:
            tags[name[:SYMBOL_CHARS]] = trim_str(text, SYMBOL_CHARS, (*path, name), notes)
    return tags


def normalize_measurements(value: object, path: Path, notes: Notes) -> dict[str, Json]:
    """``{name: {"value": float, "unit"?: str}}``; entries without a finite value dropped."""
    raw = mapping(value)
    if raw is None:
        return {}
    result: dict[str, Json] = {}
    for key, item in raw.items():
        if len(result) >= MAX_MEASUREMENTS:
            notes.annotate(path, len=len(raw))
            break
        name = clean_str(str(key)).strip()[:SHORT_CHARS]
        entry = mapping(item)
        number = finite_float(entry.get("value")) if entry is not None else None
        if not name or number is None:
            notes.error(
                "invalid_data", path_name((*path, name)), item, reason="invalid measurement"
            )
            continue
        measurement: Json = {"value": number}
        unit = lenient_str(entry.get("unit")) if entry is not None else None
        if unit:
            measurement["unit"] = unit[:SHORT_CHARS]
        result[name] = measurement
    return result

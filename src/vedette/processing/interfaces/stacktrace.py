"""Stack traces and their frames (docs/protocol.md, "Exceptions and stack traces").

Frames are ordered caller first, the crashing frame last. A long trace keeps its head and tail
(the middle is dropped and noted in ``frames_omitted``), and the middle frames of a still long
trace lose their variables and source context, as Relay does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from vedette.processing.coerce import (
    field_bool,
    field_int,
    field_str,
    is_mapping,
    lenient_str,
    mapping,
    put,
)
from vedette.processing.interfaces.shapes import Json
from vedette.processing.memo import ENTRY_BYTES, BoundedMemo, approx_bytes, compact
from vedette.processing.trim import (
    CONTEXT_LINE_CHARS,
    PATH_CHARS,
    SHORT_CHARS,
    SMALL_BAG,
    SYMBOL_CHARS,
    URL_CHARS,
    VARS_BAG,
    Notes,
    Path,
    path_name,
    trim_bag,
    trim_str,
)

# Frames kept per stack trace; beyond it frames go from the middle (head and tail stay).
MAX_FRAMES = 250
# Frames beyond this many lose vars and source context in the middle (Relay's slim_frame_data).
FRAME_DATA_ALLOWANCE = 50
MAX_CONTEXT_LINES = 20

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
    if is_mapping(frame_vars):
        frame["vars"] = trim_bag(frame_vars, (*path, "vars"), notes, VARS_BAG)


# Normalised frames without their variables, by the JSON text of the raw frame without them:
# an error that repeats repeats its frames (only the variables differ), and normalising the
# rest was most of the normalisation time (docs/benchmarks.md). Bounded by 6 MiB, an estimate
# of its keys' and values' bytes (keys of at most 4 KB: an SDK frame without variables is about
# 1 KB; tests/processing/test_memo_bytes.py checks the estimate under a flood).
_ONLY_STR = {str}
FRAME_HEADS: BoundedMemo[tuple[tuple[str, Any], ...] | bool] = BoundedMemo(
    8192, max_weight=6 * 1024 * 1024
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
        FRAME_HEADS.put(compact(key), False, ENTRY_BYTES + approx_bytes(key))
        return None
    head = tuple(
        (name, tuple(item) if type(item) is list else item) for name, item in frame.items()
    )
    FRAME_HEADS.put(compact(key), head, ENTRY_BYTES + approx_bytes(key) + approx_bytes(head))
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

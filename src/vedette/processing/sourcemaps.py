"""JavaScript frames mapped back through uploaded source maps, before grouping.

A minified frame (``abs_path``, ``lineno``, ``colno``) becomes the original file, line, column,
function and source context. The map is found by the debug id the SDK reports for the frame's
file (``debug_meta.images`` of type ``sourcemap``), else by the event's release and dist and the
frame's URL (docs/releases.md, "Source maps"). Files come from an ``ArtifactLookup`` the worker
hands in; this module never touches storage. Parsed maps are kept in a ``BoundedMemo`` shared
between events, so a warm event costs lookups only.

The original trace stays on the exception (or thread) as ``raw_stacktrace``. A map that is
missing or does not read leaves the frame as it was and adds an ``errors`` entry with Sentry's
type (``js_no_source``, ``js_invalid_source``, ``js_too_large``), never an exception.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from vedette.domain.events import NormalizedEvent
from vedette.processing.memo import BoundedMemo
from vedette.processing.sourcemap_bundles import normalize_debug_id
from vedette.processing.sourcemap_urls import (
    JAVASCRIPT_PLATFORMS,
    data_url_bytes,
    display_filename,
    is_vendored,
    lookup_candidates,
    resolve_reference,
    source_mapping_reference,
    symbolicable_path,
)

if TYPE_CHECKING:
    # symbolic (a native library) is imported with the first source map parsed: processes
    # of projects without uploads never load it (0.9 MiB each, server and worker).
    from symbolic.sourcemapcache import SourceMapCache, SourceMapCacheToken

MAX_FILE_BYTES = 32 * 1024 * 1024  # a minified file or a map larger than this is not read
MAX_FRAMES = 250  # frames symbolicated per event
TIME_BUDGET_SECONDS = 5.0  # per event; frames beyond it stay minified
CONTEXT_LINES = 5
CONTEXT_LINE_CHARS = 150  # source lines are cut around the column to this many characters
MAX_ERRORS = 50
# Parsed maps kept between events (by total size of the files they were built from).
CACHE_BYTES = 256 * 1024 * 1024
CACHE_ENTRIES = 2048


@dataclass(frozen=True, slots=True)
class Artifact:
    """An uploaded file: ``key`` names it for caches (the same key, the same bytes)."""

    key: str
    url: str
    headers: Mapping[str, str]
    load: Callable[[int], bytes | None]  # its content, or None when larger than the limit


class ArtifactLookup(Protocol):
    """The uploaded files of the event's project, as the worker finds them in storage."""

    def by_debug_id(self, debug_id: str, kind: str) -> Artifact | None:
        """The file of this debug id and type (``minified_source``, ``source_map``)."""

    def by_url(self, release: str, dist: str | None, candidates: Sequence[str]) -> Artifact | None:
        """The release's file under the first of ``candidates`` that one is stored under."""


# Parsed maps, by (minified key, map key); a map that does not read is remembered by the
# error type. A minified file's map reference is kept by ("ref", key).
ParsedMaps = BoundedMemo["SourceMapCache | str"]


def new_cache() -> ParsedMaps:
    return BoundedMemo(CACHE_ENTRIES, max_weight=CACHE_BYTES)


@dataclass(slots=True)
class _Resolved:
    """A frame file's map, ready for lookups; or the error that stops it."""

    cache: SourceMapCache | None = None
    map_url: str = ""
    method: str = ""
    error: dict[str, str] | None = None
    key: tuple[object, ...] = ()  # the parsed map's, in ``ParsedMaps``


@dataclass(frozen=True, slots=True)
class Position:
    """What a map says of one minified position: the original source (as the map names it),
    line, column, enclosing function and context, lines already cut to length."""

    source: str
    line: int
    column: int
    function: str | None
    context_line: str | None
    pre_context: tuple[str, ...]
    post_context: tuple[str, ...]

    @classmethod
    def of(cls, token: SourceMapCacheToken) -> Position:
        return cls(
            token.src or "",
            token.line,
            token.col,
            token.function_name,
            None if token.context_line is None else _cut(token.context_line, token.col),
            tuple(_cut(line, 0) for line in token.pre_context),
            tuple(_cut(line, 0) for line in token.post_context if line),
        )

    def weight(self) -> int:
        return 200 + sum(map(len, (self.context_line or "", *self.pre_context, *self.post_context)))


# Positions looked up, by (parsed map key, line, column): an error that repeats repeats its
# frames. Keys name content (checksums), so the memo is shared by all projects.
POSITIONS: BoundedMemo[Position] = BoundedMemo(50_000, max_weight=32 * 1024 * 1024)


@dataclass(slots=True)
class SourceMapSymbolicator:
    """Symbolicates one event's JavaScript frames (``symbolicate``), through ``lookup``."""

    lookup: ArtifactLookup
    cache: ParsedMaps
    clock: Callable[[], float] = time.monotonic
    _files: dict[str, _Resolved] = field(default_factory=dict)

    def symbolicate(self, normalized: NormalizedEvent) -> None:
        """Map the event's frames in place (before grouping: issues group by the originals)."""
        event = cast(dict[str, Any], normalized)
        if not _is_javascript(event):
            return
        _mark_dependencies(event)
        debug_ids = _debug_ids(event.get("debug_meta"))
        release = event.get("release") if isinstance(event.get("release"), str) else None
        dist = event.get("dist") if isinstance(event.get("dist"), str) else None
        if not debug_ids and release is None:
            return
        deadline = self.clock() + TIME_BUDGET_SECONDS
        budget = MAX_FRAMES
        errors: list[dict[str, str]] = []
        for holder in _stacktrace_holders(event):
            trace = holder["stacktrace"]
            frames = trace.get("frames")
            if not isinstance(frames, list):
                continue
            mapped: list[Any] = []
            for frame in frames:
                new = None
                if budget > 0 and _wants_mapping(frame, event) and self.clock() < deadline:
                    budget -= 1
                    new = self._map_frame(frame, debug_ids, release, dist, errors)
                mapped.append(frame if new is None else new)
            if any(new is not old for new, old in zip(mapped, frames, strict=True)):
                holder["raw_stacktrace"] = trace
                holder["stacktrace"] = {**trace, "frames": mapped}
        _add_errors(event, errors)

    def _map_frame(
        self,
        frame: dict[str, Any],
        debug_ids: Mapping[str, str],
        release: str | None,
        dist: str | None,
        errors: list[dict[str, str]],
    ) -> dict[str, Any] | None:
        url: str = _frame_url(frame)
        resolved = self._files.get(url)
        if resolved is None:
            resolved = self._resolve(url, debug_ids.get(_without_file_scheme(url)), release, dist)
            self._files[url] = resolved
        if resolved.error is not None:
            if resolved.error not in errors:
                errors.append(resolved.error)
            return None
        if resolved.cache is None:
            return None
        position = _position(resolved.cache, resolved.key, frame["lineno"], frame["colno"])
        if position is None:
            error = {"type": "js_invalid_source_location", "url": url}
            if error not in errors:
                errors.append(error)
            return None
        return mapped_frame(frame, position, resolved.map_url, resolved.method)

    def _resolve(
        self, url: str, debug_id: str | None, release: str | None, dist: str | None
    ) -> _Resolved:
        if debug_id is not None:
            minified = self.lookup.by_debug_id(debug_id, "minified_source")
            source_map = self.lookup.by_debug_id(debug_id, "source_map")
            method = "debug-id"
            reference = None if minified is None else self._reference(minified)
            if reference is None or reference.startswith("data:"):  # the map is in the bundle
                reference = url.rsplit("/", 1)[-1] + ".map"
            map_url = resolve_reference(url, reference)
        elif release is not None:
            minified = self.lookup.by_url(release, dist, lookup_candidates(url))
            if minified is None:
                return _Resolved()  # nothing uploaded for this file: a library, a runner
            method = "release"
            reference = self._reference(minified)
            if reference is None:
                return _Resolved(error={"type": "js_no_source", "url": url})
            map_url = resolve_reference(url, reference)
            source_map = _inline_map(map_url)
            if source_map is not None:
                map_url = url  # an inline map's sources are relative to the file itself
            else:
                source_map = self.lookup.by_url(release, dist, lookup_candidates(map_url))
        else:
            return _Resolved()
        if source_map is None:
            return _Resolved(error={"type": "js_no_source", "url": map_url})
        key = ("map", None if minified is None else minified.key, source_map.key)
        parsed = self._parsed(key, minified, source_map)
        if isinstance(parsed, str):
            return _Resolved(error={"type": parsed, "url": map_url})
        return _Resolved(parsed, map_url, method, key=key)

    def _reference(self, minified: Artifact) -> str | None:
        """The map a minified file names: its ``sourcemap`` header, else its comment."""
        header = minified.headers.get("sourcemap") or minified.headers.get("x-sourcemap")
        if header:
            return header
        key = ("ref", minified.key)
        known = self.cache.get(key)
        if isinstance(known, str):
            return known or None
        data = minified.load(MAX_FILE_BYTES)
        found = None if data is None else source_mapping_reference(data)
        self.cache.put(key, found or "", 64 + len(found or ""))
        return found

    def _parsed(
        self, key: tuple[object, ...], minified: Artifact | None, source_map: Artifact
    ) -> SourceMapCache | str:
        known = self.cache.get(key)
        if known is not None:
            return known
        map_bytes = source_map.load(MAX_FILE_BYTES)
        source = b"" if minified is None else minified.load(MAX_FILE_BYTES)
        if map_bytes is None or source is None:
            self.cache.put(key, "js_too_large", 64)
            return "js_too_large"
        from symbolic.exceptions import SymbolicError
        from symbolic.sourcemapcache import SourceMapCache

        try:
            parsed: SourceMapCache | str = SourceMapCache.from_bytes(source, map_bytes)
        except SymbolicError:
            parsed = "js_invalid_source"
        self.cache.put(key, parsed, len(map_bytes) + len(source))
        return parsed


def _position(
    cache: SourceMapCache, key: tuple[object, ...], line: int, column: int
) -> Position | None:
    memo_key = (key, line, column)
    found = POSITIONS.get(memo_key)
    if found is None:
        from symbolic.exceptions import SymbolicError

        try:
            token = cache.lookup(line, column, CONTEXT_LINES)
        except (SymbolicError, OverflowError):  # past 32 bits: no position of any map
            return None
        if token is None or not token.src:
            return None
        found = Position.of(token)
        POSITIONS.put(memo_key, found, found.weight())
    return found


def mapped_frame(
    frame: Mapping[str, Any], position: Position, map_url: str, method: str
) -> dict[str, Any]:
    """The frame as the map tells it: the original file, position, function and context."""
    abs_path = resolve_reference(map_url, position.source)
    new = {k: v for k, v in frame.items() if k not in _REPLACED}
    new["filename"] = display_filename(abs_path)[:256]
    new["abs_path"] = abs_path[:2048]
    new["function"] = (position.function or frame.get("function") or "<anonymous>")[:256]
    new["lineno"] = position.line
    new["colno"] = position.column
    if position.context_line is not None:
        new["pre_context"] = list(position.pre_context)
        new["context_line"] = position.context_line
        new["post_context"] = list(position.post_context)
    if is_vendored(abs_path) or is_vendored(_frame_url(frame)):
        new["in_app"] = False
    elif "in_app" not in new:
        new["in_app"] = True
    data = frame.get("data")
    data = data if isinstance(data, dict) else {}
    new["data"] = {**data, "sourcemap": map_url[:2048], "resolved_with": method,
                   "symbolicated": True}  # fmt: skip
    return new


# What a mapped frame no longer says: its minified module, position and context.
_REPLACED = frozenset({"module", "pre_context", "context_line", "post_context", "data"})


def _cut(line: str, column: int) -> str:
    """A source line without its newline, at most ``CONTEXT_LINE_CHARS`` around ``column``."""
    line = line.rstrip("\r\n")
    if len(line) <= CONTEXT_LINE_CHARS:
        return line
    start = max(0, min(column - CONTEXT_LINE_CHARS // 2, len(line) - CONTEXT_LINE_CHARS))
    piece = line[start : start + CONTEXT_LINE_CHARS]
    head = "{snip} " if start else ""
    tail = " {snip}" if start + len(piece) < len(line) else ""
    return head + piece + tail


def _is_javascript(event: dict[str, Any]) -> bool:
    if event.get("platform") in JAVASCRIPT_PLATFORMS:
        return True
    return any(
        isinstance(f, dict) and f.get("platform") in JAVASCRIPT_PLATFORMS
        for holder in _stacktrace_holders(event)
        for f in holder["stacktrace"].get("frames") or ()
    )


def _mark_dependencies(event: dict[str, Any]) -> None:
    """JavaScript frames of ``node_modules`` are never the application's, mapped or not."""
    for holder in _stacktrace_holders(event):
        for frame in holder["stacktrace"].get("frames") or ():
            if (
                isinstance(frame, dict)
                and frame.get("in_app") is not False
                and (frame.get("platform") or event.get("platform")) in JAVASCRIPT_PLATFORMS
                and is_vendored(_frame_url(frame))
            ):
                frame["in_app"] = False


def _wants_mapping(frame: object, event: Mapping[str, Any]) -> bool:
    if not isinstance(frame, dict):
        return False
    if (frame.get("platform") or event.get("platform")) not in JAVASCRIPT_PLATFORMS:
        return False
    path, line, column = _frame_url(frame), frame.get("lineno"), frame.get("colno")
    return (
        isinstance(path, str)
        and symbolicable_path(path)
        and not is_vendored(path)
        and isinstance(line, int)
        and isinstance(column, int)
        and line > 0
    )


def _frame_url(frame: Mapping[str, Any]) -> Any:
    """Where the frame's code was loaded from: ``abs_path``, else ``filename`` (which is all
    @sentry/node sends: the file's absolute path)."""
    return frame.get("abs_path") or frame.get("filename")


def _stacktrace_holders(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The exceptions, threads and the event itself, where they hold a stack trace."""
    for container in ("exception", "threads"):
        values = event.get(container)
        for holder in values.get("values") or () if isinstance(values, dict) else ():
            if isinstance(holder, dict) and isinstance(holder.get("stacktrace"), dict):
                yield holder
    if isinstance(event.get("stacktrace"), dict):
        yield event


def _debug_ids(debug_meta: object) -> dict[str, str]:
    """The SDK's ``sourcemap`` images: a file's path (``code_file``) to its debug id."""
    images = debug_meta.get("images") if isinstance(debug_meta, dict) else None
    found: dict[str, str] = {}
    for image in images[:1000] if isinstance(images, list) else ():
        if not isinstance(image, dict) or image.get("type") != "sourcemap":
            continue
        code_file, debug_id = image.get("code_file"), normalize_debug_id(image.get("debug_id"))
        if isinstance(code_file, str) and debug_id is not None:
            found[_without_file_scheme(code_file)] = debug_id
    return found


def _without_file_scheme(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


def _inline_map(map_url: str) -> Artifact | None:
    if not map_url.startswith("data:"):
        return None
    data = data_url_bytes(map_url, MAX_FILE_BYTES)
    key = "inline:" + hashlib.sha1(map_url.encode(), usedforsecurity=False).hexdigest()
    return Artifact(key, "data:", {}, lambda limit: data if data and len(data) <= limit else None)


def _add_errors(event: dict[str, Any], errors: list[dict[str, str]]) -> None:
    if not errors:
        return
    errors = [{**e, "url": e["url"][:2048]} for e in errors]
    existing = event.get("errors")
    event["errors"] = [*(existing if isinstance(existing, list) else []), *errors][:MAX_ERRORS]

"""Where a JavaScript frame's files are looked for, and what its resolved frame is called: the
URL rules of Sentry's source-map lookup (docs/releases.md, "Source maps").

A release artifact is named by URL, usually ``~/path``: ``~`` stands for any scheme and host,
so ``https://cdn.example.com/static/app.js?v=3`` finds ``~/static/app.js?v=3`` and
``~/static/app.js``. A minified file names its map in a ``//# sourceMappingURL=`` comment (or a
``SourceMap`` header), relative to the file's own URL.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

JAVASCRIPT_PLATFORMS = frozenset({"javascript", "node"})
# The comment is in the last lines of a minified file; only its tail is searched.
_TAIL_BYTES = 4096
_MAPPING_COMMENT = re.compile(rb"//[#@]\s*sourceMappingURL=(\S+)\s*$", re.MULTILINE)
_DATA_URL = re.compile(r"data:(?P<type>[^,;]*)(?P<params>(?:;[^,;]*)*),(?P<data>.*)", re.DOTALL)
# Frames of the runtime itself: never uploaded, never looked up.
_RUNTIME_PREFIXES = ("node:", "native", "<anonymous>", "[native code]")


def lookup_candidates(url: str) -> list[str]:
    """The artifact names that match a frame's URL, most specific first: the URL itself, then
    ``~`` with its path and query, then ``~`` with its path alone."""
    if url.startswith("~"):
        return [url]
    parts = urlsplit(url)
    found = [url]
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    if parts.query:
        found.append(f"~{path}?{parts.query}")
    found.append(f"~{path}")
    return list(dict.fromkeys(found))


def source_mapping_reference(minified: bytes) -> str | None:
    """The ``sourceMappingURL`` a minified file names in its last lines, if any."""
    matches = _MAPPING_COMMENT.findall(minified[-_TAIL_BYTES:])
    if not matches:
        return None
    last: bytes = matches[-1]
    return last.decode("utf-8", "replace")


def resolve_reference(base_url: str, reference: str) -> str:
    """``reference`` (a map's or a source's URL) read relative to ``base_url``, as a browser
    would; a ``~/`` base keeps its ``~``."""
    if reference.startswith("data:"):
        return reference
    if len(base_url) + len(reference) > _CACHED_URL_CHARS:
        return _join(base_url, reference)
    return _cached_join(base_url, reference)


def _join(base_url: str, reference: str) -> str:
    if base_url.startswith("~/"):
        return "~" + urljoin(base_url[1:], reference)
    return urljoin(base_url, reference)


# A map names the same sources for every frame of every event: joins are remembered.
_CACHED_URL_CHARS = 2048
_cached_join = lru_cache(maxsize=4096)(_join)


def data_url_bytes(url: str, limit: int) -> bytes | None:
    """The content of a ``data:`` URL (an inline source map), or None when it is malformed or
    larger than ``limit`` bytes."""
    found = _DATA_URL.fullmatch(url)
    if found is None or len(found["data"]) > limit * 2:
        return None
    if ";base64" in found["params"]:
        try:
            data = base64.b64decode(found["data"], validate=False)
        except (binascii.Error, ValueError):
            return None
    else:
        data = unquote_to_bytes(found["data"])
    return data if len(data) <= limit else None


def display_filename(abs_path: str) -> str:
    """The ``filename`` Sentry shows for a resolved source: its path without scheme and host;
    a ``webpack://namespace/./src/x.js`` source shows as ``src/x.js``."""
    parts = urlsplit(abs_path)
    if parts.scheme == "webpack":
        return re.sub(r"^(\./|/)+", "", parts.path) or abs_path
    if abs_path.startswith("~/"):
        return abs_path[1:]
    return parts.path or abs_path


def is_vendored(path: str | None) -> bool:
    """A dependency's file: never the application's own code."""
    return path is not None and "/node_modules/" in path


def symbolicable_path(abs_path: str) -> bool:
    """Whether a frame's file could have been uploaded (the runtime's own frames are not)."""
    return bool(abs_path) and not abs_path.startswith(_RUNTIME_PREFIXES)

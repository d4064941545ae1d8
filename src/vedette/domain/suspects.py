"""What commits say about issues, as pure functions: suspect commits (a release's commits that
touched a file of an event's in-app frames) and ``Fixes SHOP-12`` in commit messages.

See docs/releases.md, "Commits and issues".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Sentry's keywords; the short id is the project slug upper-cased, a dash and a base-36 number.
_FIXES = re.compile(
    r"\b(?:close|closes|closed|fix|fixes|fixed|resolve|resolves|resolved)\b:?\s+"
    r"([A-Za-z0-9_][A-Za-z0-9_.-]*-[A-Za-z0-9]+)\b",
    re.IGNORECASE,
)
_SCHEME_AND_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*")
MAX_FIXED_PER_MESSAGE = 20


def fixed_short_ids(message: str) -> list[str]:
    """The issue short ids a commit message says it fixes (``Fixes SHOP-12``, ``closes
    web-1a``), upper-cased, in order, each once."""
    found = [m.group(1).upper() for m in _FIXES.finditer(message)]
    return list(dict.fromkeys(found))[:MAX_FIXED_PER_MESSAGE]


def parse_short_id(short_id: str) -> tuple[str, int] | None:
    """``SHOP-1A`` -> (``SHOP``, 46): the project slug (upper-cased) and the issue's number."""
    slug, _, digits = short_id.rpartition("-")
    if not slug or not digits:
        return None
    try:
        return slug, int(digits, 36)
    except ValueError:
        return None


def path_segments(path: str) -> tuple[str, ...]:
    """A frame's or a repository's path as segments: scheme and host dropped (``app:///``,
    ``webpack://shop/``), backslashes as slashes, ``.`` and empty segments dropped."""
    path = _SCHEME_AND_HOST.sub("", path.replace("\\", "/"))
    return tuple(s for s in path.split("/") if s not in ("", ".", ".."))


def match_score(frame_path: Sequence[str], file_path: Sequence[str]) -> int:
    """How many trailing segments match when one path ends with the whole other one
    (``/srv/app/shop/pay.py`` and ``shop/pay.py``: 2); 0 when neither is a suffix."""
    shorter = min(len(frame_path), len(file_path))
    if shorter == 0 or tuple(frame_path[-shorter:]) != tuple(file_path[-shorter:]):
        return 0
    return shorter


def in_app_paths(event: Mapping[str, Any]) -> set[tuple[str, ...]]:
    """The paths of the event's in-app frames (``filename`` and ``abs_path``), every
    exception and thread."""
    stacks: list[Any] = []
    for key in ("exception", "threads"):
        container = event.get(key)
        values = container.get("values") if isinstance(container, Mapping) else None
        for value in values if isinstance(values, list) else ():
            if isinstance(value, Mapping):
                stacks.append(value.get("stacktrace"))
    paths: set[tuple[str, ...]] = set()
    for stack in stacks:
        frames = stack.get("frames") if isinstance(stack, Mapping) else None
        for frame in frames if isinstance(frames, list) else ():
            if not isinstance(frame, Mapping) or frame.get("in_app") is not True:
                continue
            for key in ("filename", "abs_path"):
                if isinstance(frame.get(key), str) and frame[key]:
                    paths.add(path_segments(frame[key]))
    return {p for p in paths if p}


@dataclass(frozen=True, slots=True)
class Suspect:
    """A commit (by its position in the release) and the files of it the frames touched."""

    position: int
    files: tuple[str, ...]
    score: int


def suspects(
    frame_paths: Iterable[Sequence[str]], commits: Sequence[Sequence[str]]
) -> list[Suspect]:
    """The commits (each given as its files) that touched a file of ``frame_paths``, best
    match first (most matching path segments), then in the release's order (newest first)."""
    frames = [tuple(p) for p in frame_paths]
    found = []
    for position, files in enumerate(commits):
        matched: dict[str, int] = {}
        for file in files:
            segments = path_segments(file)
            score = max((match_score(f, segments) for f in frames), default=0)
            if score:
                matched[file] = score
        if matched:
            found.append(Suspect(position, tuple(matched), max(matched.values())))
    return sorted(found, key=lambda s: (-s.score, s.position))

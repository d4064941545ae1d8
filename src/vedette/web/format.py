"""Template filters: times, durations, numbers and URL pieces as people read them."""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from vedette.storage.accounts import Project


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(ts: float | None, now: float | None = None) -> str:
    if ts is None:
        return "never"
    seconds = (time.time() if now is None else now) - ts
    if seconds < 0:
        return "in the future"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.2f} ms"


def percent(fraction: float | None, digits: int = 1) -> str:
    return "-" if fraction is None else f"{fraction * 100:.{digits}f} %"


def number(value: int | float | str | None) -> str:
    if value is None:
        return "-"
    try:
        n = float(value)
    except ValueError:
        return str(value)
    return f"{int(n):,}".replace(",", "\u202f") if n == int(n) else f"{n:,.2f}"


def path_part(value: object) -> str:
    """One URL path segment: slashes and everything else outside unreserved are quoted."""
    return quote(str(value), safe="")


def query(*parts: Mapping[str, object], **more: object) -> str:
    """``?a=1&b=2`` from the non-empty values (later ones win), or '' when there are none."""
    merged: dict[str, object] = {}
    for part in (*parts, more):
        merged.update(part)
    kept = {k: str(v) for k, v in merged.items() if v is not None and v != ""}
    return "?" + urlencode(kept) if kept else ""


def search_term(key: str, value: str) -> str:
    """``key:value`` for the search box, quoted so that spaces and quotes survive shlex."""
    return f"{key}:{shlex.quote(value)}"


def project_base(project: Project) -> str:
    """The path every page of a project starts with: ``/p/ORG/PROJECT``."""
    return f"/p/{path_part(project.organization_slug)}/{path_part(project.slug)}"

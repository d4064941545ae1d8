"""Chart geometry for the server-drawn inline SVG (readable without JavaScript).

Pure functions: counts in, coordinates out. Templates only place the numbers into <svg>
attributes, which the Content-Security-Policy allows (inline style attributes it would not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime


def series(counts: Mapping[int, int], first: int, n: int) -> list[int]:
    """``n`` consecutive buckets from ``first``, zero where nothing was counted."""
    return [counts.get(first + i, 0) for i in range(n)]


def sparkline(values: Sequence[float], width: float = 120, height: float = 24) -> str:
    """The ``points`` of an SVG polyline; the peak touches the top, zero the baseline."""
    if not values:
        return ""
    peak = max(values) or 1
    step = width / max(len(values) - 1, 1)
    inner = height - 2  # one unit of room so the stroke is not clipped
    return " ".join(
        f"{i * step:.1f},{height - 1 - (v / peak) * inner:.1f}" for i, v in enumerate(values)
    )


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    label: str


def bars(
    values: Sequence[tuple[str, float]], width: float = 600, height: float = 80, gap: float = 1
) -> list[Bar]:
    """One bar per (label, value), scaled so the largest reaches the top."""
    if not values:
        return []
    peak = max(v for _, v in values) or 1
    slot = width / len(values)
    found = []
    for i, (label, value) in enumerate(values):
        h = (value / peak) * height
        if value > 0:
            h = max(h, 1.0)  # a single event stays visible next to a spike
        found.append(Bar(i * slot, height - h, max(slot - gap, 0.5), h, value, label))
    return found


def time_bars(
    counts: Mapping[int, int], first: int, n: int, bucket_seconds: int, label_format: str
) -> list[Bar]:
    """Bars for ``n`` time buckets numbered like ``floor(unix time / bucket_seconds)``."""
    labelled = []
    for i, value in enumerate(series(counts, first, n)):
        start = datetime.fromtimestamp((first + i) * bucket_seconds, UTC)
        labelled.append((f"{start.strftime(label_format)} UTC: {value}", float(value)))
    return bars(labelled)


@dataclass(frozen=True, slots=True)
class Segment:
    """A waterfall bar as percentages of the row's width."""

    left: float
    width: float


def segment(offset_ms: float, duration_ms: float, total_ms: float) -> Segment:
    if total_ms <= 0:
        return Segment(0.0, 100.0)
    left = min(max(offset_ms / total_ms * 100, 0.0), 100.0)
    width = min(max(duration_ms / total_ms * 100, 0.2), 100.0 - left if left < 100 else 0.2)
    return Segment(round(left, 3), round(width, 3))

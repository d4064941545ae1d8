"""What the pages draw from the roll-ups: a bar per day, uptime percentages, a latency line.
Pure: roll-up buckets in, numbers and labels out (the templates place them into SVG)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from vedette.storage.uptime_queries import Bucket

DAY = 86400
HOUR = 3600
HISTORY_DAYS = 90
BAR_SLOT = 6  # SVG units per day: 90 days are 540 wide


@dataclass(frozen=True, slots=True)
class DayBar:
    x: int
    status: str  # ok | error (some check failed) | none (no checks)
    label: str


def day_bars(buckets: Sequence[Bucket], now: float, days: int = HISTORY_DAYS) -> list[DayBar]:
    """The last ``days`` days, oldest first, today last."""
    by_start = {b.start: b for b in buckets}
    today = int(now // DAY * DAY)
    found = []
    for i in range(days):
        start = today - (days - 1 - i) * DAY
        day = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d")
        bucket = by_start.get(start)
        if bucket is None or not bucket.checks:
            found.append(DayBar(i * BAR_SLOT, "none", f"{day}: no checks"))
            continue
        share = percent(bucket.checks - bucket.failures, bucket.checks)
        status = "error" if bucket.failures else "ok"
        found.append(DayBar(i * BAR_SLOT, status, f"{day}: {share} up, {bucket.checks} checks"))
    return found


def uptime_percent(buckets: Sequence[Bucket]) -> str:
    checks = sum(b.checks for b in buckets)
    if not checks:
        return "no data"
    return percent(checks - sum(b.failures for b in buckets), checks)


def percent(part: int, whole: int) -> str:
    """Two decimals, and never a rounded-up 100 % when something failed."""
    value = 100 * part / whole
    text = f"{value:.2f}"
    if text == "100.00" and part < whole:
        text = "99.99"
    return f"{text} %"


@dataclass(frozen=True, slots=True)
class LatencyChart:
    points: str  # an SVG polyline's points
    peak_ms: float
    average_ms: float


def latency_chart(
    buckets: Sequence[Bucket], now: float, hours: int, width: float = 540, height: float = 60
) -> LatencyChart:
    """Average latency per hour over the last ``hours``; hours without checks are skipped."""
    first = int(now // HOUR * HOUR) - (hours - 1) * HOUR
    step = width / max(hours - 1, 1)
    values = [
        ((b.start - first) // HOUR, b.latency_ms_sum / b.checks)
        for b in buckets
        if b.checks and b.start >= first
    ]
    if not values:
        return LatencyChart("", 0.0, 0.0)
    peak = max(v for _, v in values) or 1.0
    points = " ".join(
        f"{i * step:.1f},{height - 1 - (v / peak) * (height - 2):.1f}" for i, v in values
    )
    checks = sum(b.checks for b in buckets if b.start >= first)
    total = sum(b.latency_ms_sum for b in buckets if b.start >= first)
    return LatencyChart(points, peak, total / checks)

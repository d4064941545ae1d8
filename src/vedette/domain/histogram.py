"""A mergeable, log-bucketed duration histogram (the DDSketch layout) for percentiles.

Durations are kept per minute as ``{bucket index: count}``; any number of such minutes merge by
adding counts, so a percentile over millions of transactions reads a few thousand small rows
instead of every duration. Bucket ``i`` holds values in ``(GAMMA**(i-1), GAMMA**i]``
milliseconds and reports ``2 * GAMMA**i / (GAMMA + 1)``, which is within ``ALPHA`` (0.5 %) of
every value in the bucket: so every percentile is within 0.5 % of the exact one (the target
is 1 %).

Rank convention (the "exact" value the estimate is checked against): the q-th percentile of
``n`` durations is the element at 0-based rank ``floor(q * (n - 1))`` of the sorted list.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

ALPHA = 0.005
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
# Durations at or below 1 µs (0.001 ms) share bucket ZERO_BUCKET and report 0.
MIN_MS = 0.001
ZERO_BUCKET = math.floor(math.log(MIN_MS) / _LOG_GAMMA) - 1


def bucket_of(duration_ms: float) -> int:
    if not duration_ms > MIN_MS:  # also catches NaN
        return ZERO_BUCKET
    return math.ceil(math.log(duration_ms) / _LOG_GAMMA)


def bucket_value(index: int) -> float:
    """The representative duration (ms) of a bucket."""
    if index <= ZERO_BUCKET:
        return 0.0
    return 2 * GAMMA**index / (GAMMA + 1)


def bucket_bounds(index: int) -> tuple[float, float]:
    """Lower (exclusive) and upper (inclusive) bound of a bucket, in ms."""
    if index <= ZERO_BUCKET:
        return 0.0, MIN_MS
    return GAMMA ** (index - 1), GAMMA**index


def histogram_of(durations_ms: Iterable[float]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for duration in durations_ms:
        index = bucket_of(duration)
        counts[index] = counts.get(index, 0) + 1
    return counts


def merge(target: dict[int, int], other: Mapping[int, int]) -> dict[int, int]:
    for index, count in other.items():
        target[index] = target.get(index, 0) + count
    return target


def quantiles(counts: Mapping[int, int], qs: Iterable[float]) -> list[float | None]:
    """Estimated percentiles (``q`` in 0..1) of the histogram; None when it is empty."""
    ordered = sorted((i, c) for i, c in counts.items() if c > 0)
    total = sum(c for _, c in ordered)
    results: list[float | None] = []
    for q in qs:
        if total == 0:
            results.append(None)
            continue
        rank = math.floor(min(max(q, 0.0), 1.0) * (total - 1))
        seen = 0
        for index, count in ordered:
            seen += count
            if seen > rank:
                results.append(bucket_value(index))
                break
    return results


def exact_quantile(durations_ms: Iterable[float], q: float) -> float:
    """The value the histogram's estimate approximates (same rank convention)."""
    ordered = sorted(durations_ms)
    return ordered[math.floor(q * (len(ordered) - 1))]


def coarsen(counts: Mapping[int, int], bins: int = 30) -> list[tuple[float, float, int]]:
    """At most ``bins`` display bins ``(start_ms, end_ms, count)`` of equal width on a log
    scale between the smallest and the largest bucket; empty bins are kept (a chart needs them).
    """
    used = sorted(i for i, c in counts.items() if c > 0)
    if not used:
        return []
    low, high = used[0], used[-1]
    span = high - low + 1
    width = max(1, math.ceil(span / bins))
    result: list[tuple[float, float, int]] = []
    for start in range(low, high + 1, width):
        end = min(start + width - 1, high)
        total = sum(counts.get(i, 0) for i in range(start, end + 1))
        result.append((bucket_bounds(start)[0], bucket_bounds(end)[1], total))
    return result

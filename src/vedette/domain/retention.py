"""Which stored events an issue keeps once it holds more than its cap.

An issue that fires a million times does not need a million stored events: the first one
(how it started), the latest ones (what it looks like now) and an even sample in between (how
it changed) answer every question the UI asks; counters and tag tallies keep the totals.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    max_age_seconds: float
    max_events_per_issue: int
    span_max_age_seconds: float
    log_max_age_seconds: float = 30 * 86400.0
    profile_max_age_seconds: float = 30 * 86400.0

    def __post_init__(self) -> None:
        if self.max_events_per_issue < 3:
            raise ValueError("an issue keeps at least its first, a sampled and its latest event")


def positions_to_keep(stored: int, cap: int) -> set[int]:
    """Positions (0 = oldest) kept of ``stored`` events in time order, at most ``cap`` of them:
    the first, the newest half of the cap, and the rest spread evenly over the middle."""
    if stored <= cap:
        return set(range(stored))
    latest = cap // 2
    middle_start, middle_end = 1, stored - latest  # the middle is [middle_start, middle_end)
    sampled = cap - 1 - latest
    span = middle_end - middle_start
    keep = {0, *range(middle_end, stored)}
    keep.update(middle_start + (i * span) // sampled for i in range(sampled))
    return keep

"""Per-project and per-key event quotas, answered the way SDKs understand.

A fixed one-minute window per project (and a window of the key's own length per DSN key that
has a ``rateLimit``) counts the event-like items (errors, messages,
transactions, security reports) each envelope carries. Over the quota the whole envelope gets a
429 with ``Retry-After`` and ``X-Sentry-Rate-Limits: <seconds>:<categories>:project``, which the
Python and JavaScript SDKs obey: they stop sending those categories until the window ends.

Each process counts on its own: with N ingest processes behind a load balancer the effective
quota is at most N times the setting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The data categories one quota covers, in Sentry's names.
LIMITED_CATEGORIES = ("error", "default", "transaction", "security")
_LIMITED_ITEMS = {"event", "transaction", "security"}
WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Refusal:
    retry_after: int
    categories: tuple[str, ...]
    scope: str = "project"

    def header(self) -> str:
        """The ``X-Sentry-Rate-Limits`` value: ``retry_after:cat;cat:scope``."""
        return f"{self.retry_after}:{';'.join(self.categories)}:{self.scope}"


def _retry_after(window: int, window_seconds: int, now: float) -> int:
    return max(1, int((window + 1) * window_seconds - now + 0.999))


def limited_items(item_types: Iterable[str]) -> int:
    return sum(1 for t in item_types if t in _LIMITED_ITEMS)


class ProjectQuota:
    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._window = -1
        self._used: dict[int, int] = {}

    def admit(self, project_id: int, quantity: int, now: float) -> Refusal | None:
        """Count ``quantity`` events against the project, or refuse them all."""
        if self._per_minute <= 0 or quantity == 0:
            return None
        window = int(now // WINDOW_SECONDS)
        if window != self._window:
            self._window, self._used = window, {}
        used = self._used.get(project_id, 0)
        if used + quantity > self._per_minute:
            return Refusal(_retry_after(window, WINDOW_SECONDS, now), LIMITED_CATEGORIES)
        self._used[project_id] = used + quantity
        return None


class KeyQuota:
    """Each limited DSN key counts in fixed windows of its own length. Only keys with a limit
    are tracked, so memory is bounded by the keys in the database, not by what clients send."""

    def __init__(self) -> None:
        self._used: dict[str, tuple[int, int]] = {}  # public key -> (window, events)

    def admit(
        self, public_key: str, limit: tuple[int, int] | None, quantity: int, now: float
    ) -> Refusal | None:
        if limit is None or quantity == 0:
            return None
        count, window_seconds = limit
        window = int(now // window_seconds)
        current, used = self._used.get(public_key, (window, 0))
        if current != window:
            used = 0
        if used + quantity > count:
            return Refusal(_retry_after(window, window_seconds, now), LIMITED_CATEGORIES, "key")
        self._used[public_key] = (window, used + quantity)
        return None


SPOOL_FULL_RETRY_SECONDS = 60


class SpoolGauge:
    """The spool's depth as last measured in the background (a count per request would cost
    more than the request), plus what this server has spooled since. Past ``limit`` entries,
    ingest answers 429 for every category instead of filling the disk.

    Counting this server's own appends refuses a burst at the limit, not up to a measurement
    later; other nodes' appends and the worker's progress show at the next measurement. While
    the spool is full it is measured more often, so ingest resumes soon after the worker has
    caught up."""

    MEASURE_SECONDS = 1.0
    MEASURE_WHILE_FULL_SECONDS = 0.1

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._measured = 0
        self._appended = 0  # entries this server has spooled, ever
        self._appended_at_measure = 0  # ... when the last measurement began

    @property
    def depth(self) -> int:
        return self._measured + self._appended - self._appended_at_measure

    def appended(self, entries: int = 1) -> None:
        self._appended += entries

    def appended_so_far(self) -> int:
        """Taken before a measurement: appends after it may be counted twice until the next
        one, never missed."""
        return self._appended

    def measured(self, depth: int, appended_before: int) -> None:
        self._measured = depth
        self._appended_at_measure = appended_before

    def full(self) -> bool:
        return 0 < self.limit <= self.depth

    def next_measure_seconds(self) -> float:
        return self.MEASURE_WHILE_FULL_SECONDS if self.full() else self.MEASURE_SECONDS

    def refusal(self) -> Refusal | None:
        return Refusal(SPOOL_FULL_RETRY_SECONDS, ()) if self.full() else None

    @staticmethod
    def header(refusal: Refusal) -> str:
        """All categories (empty list), organisation scope, Relay-style reason code."""
        return f"{refusal.retry_after}::organization:spool_full"


class RefusedOutcomes:
    """Counts of what ingest refused, per project, until the next flush into the spool (which
    turns them into ``rate_limited`` outcomes in the stats API)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[int, str, str], int] = {}

    def add(self, project_id: int, categories: Iterable[str], reason: str) -> None:
        for category in categories:
            key = (project_id, category, reason)
            self._counts[key] = self._counts.get(key, 0) + 1

    def drain(self) -> dict[int, list[dict[str, object]]]:
        by_project: dict[int, list[dict[str, object]]] = {}
        for (project_id, category, reason), quantity in sorted(self._counts.items()):
            by_project.setdefault(project_id, []).append(
                {"category": category, "outcome": "rate_limited", "reason": reason,
                 "quantity": quantity}
            )  # fmt: skip
        self._counts = {}
        return by_project

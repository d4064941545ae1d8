"""A bounded memo for processing results that recur event after event.

An error that repeats (what makes an issue) repeats its stack frames, so per-frame and per-stack
work can be looked up instead of redone. Keys come from untrusted events, so a memo is bounded
by entry count and by total weight (each entry's size in the caller's unit: key bytes, frames),
least recently used first out. Callers also refuse oversized keys. Stored values must be
immutable (tuples, strings, numbers, frozen dataclasses): every event that hits an entry
shares it.
"""

from __future__ import annotations

from collections.abc import Hashable
from threading import Lock
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedMemo(Generic[V]):
    """A least-recently-used dict of at most ``max_entries`` entries and ``max_weight``."""

    __slots__ = ("_entries", "_lock", "hits", "max_entries", "max_weight", "misses", "weight")

    def __init__(self, max_entries: int, max_weight: int | None = None) -> None:
        self.max_entries = max_entries
        self.max_weight = max_entries if max_weight is None else max_weight
        self._entries: dict[Hashable, tuple[V, int]] = {}
        self._lock = Lock()
        self.weight = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        entries = self._entries
        found = entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        with self._lock:  # most recently used last
            if entries.pop(key, None) is not None:
                entries[key] = found
        return found[0]

    def put(self, key: Hashable, value: V, weight: int = 1) -> None:
        if weight > self.max_weight:
            return
        with self._lock:
            entries = self._entries
            old = entries.pop(key, None)
            if old is not None:
                self.weight -= old[1]
            entries[key] = (value, weight)
            self.weight += weight
            while len(entries) > self.max_entries or self.weight > self.max_weight:
                oldest = next(iter(entries))
                self.weight -= entries.pop(oldest)[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.weight = self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

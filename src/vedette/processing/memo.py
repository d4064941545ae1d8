"""A bounded memo for processing results that recur event after event.

An error that repeats (what makes an issue) repeats its stack frames, so per-frame and per-stack
work can be looked up instead of redone. Keys come from untrusted events, so a memo is bounded
by entry count and by total weight, least recently used first out. Weights are bytes: an
estimate of the memory an entry holds (``approx_bytes`` of its key and value, plus the slot),
so a flood of large distinct keys evicts more entries instead of growing the process. Callers
also refuse oversized keys. Stored values must be immutable (tuples, strings, numbers, frozen
dataclasses): every event that hits an entry shares it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable
from functools import update_wrapper
from threading import Lock
from typing import Any, Generic, ParamSpec, TypeVar

V = TypeVar("V")
P = ParamSpec("P")

# A dict slot and its share of the table's spare room, the (value, weight) pair and the weight:
# what an entry costs beyond its key's and value's own objects.
ENTRY_BYTES = 256
_FLAT = (str, bytes, int, float, bool, type(None))


def compact(data: bytes) -> bytes:
    """An exact-size copy of ``data``, to keep as a key. ``orjson.dumps`` returns bytes that
    keep its whole growth buffer: a 1.3 KB text held 8 KB of resident memory."""
    return memoryview(data).tobytes()


def approx_bytes(value: object) -> int:
    """Memory held by ``value``: exact for strings, bytes and numbers, their sum for tuples and
    frozensets of them; other objects (dataclass instances) count as a flat 64 bytes, so
    callers add their own estimate for those. Cheap: ``sys.getsizeof`` is O(1) for these."""
    if isinstance(value, _FLAT):
        return sys.getsizeof(value)
    if isinstance(value, tuple | frozenset):
        return sys.getsizeof(value) + sum(approx_bytes(item) for item in value)
    return 64


class BoundedMemo(Generic[V]):
    """A least-recently-used dict of at most ``max_entries`` entries and ``max_weight``.

    ``recency=False``: first in, first out. A hit is then one dict lookup (a quarter of the
    cost), for memos consulted many times per event whose entries are cheap to recompute.
    """

    __slots__ = (
        "_entries", "_lock", "_recency", "hits", "max_entries", "max_weight", "misses", "weight"
    )  # fmt: skip

    def __init__(
        self, max_entries: int, max_weight: int | None = None, *, recency: bool = True
    ) -> None:
        self.max_entries = max_entries
        self.max_weight = max_entries if max_weight is None else max_weight
        self._entries: dict[Hashable, tuple[V, int]] = {}
        self._lock = Lock()
        self._recency = recency
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
        if not self._recency:
            return found[0]
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


class MemoizedFunction(Generic[P, V]):
    """A pure function with a ``BoundedMemo`` of its results by positional arguments (as
    ``functools.lru_cache``, but bounded by bytes). Calls with keyword arguments or unhashable
    arguments are computed, not cached."""

    def __init__(
        self,
        function: Callable[P, V],
        memo: BoundedMemo[V],
        value_bytes: Callable[[V], int],
    ) -> None:
        self._function = function
        self._value_bytes = value_bytes
        self.memo = memo
        update_wrapper(self, function)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> V:
        if kwargs:
            return self._function(*args, **kwargs)
        try:
            found = self.memo.get(args)
        except TypeError:  # unhashable
            return self._function(*args, **kwargs)
        if found is not None:
            return found
        value = self._function(*args, **kwargs)
        self.memo.put(args, value, ENTRY_BYTES + approx_bytes(args) + self._value_bytes(value))
        return value

    def cache_clear(self) -> None:
        self.memo.clear()


def memoize_bytes(
    max_entries: int, max_bytes: int, value_bytes: Callable[[Any], int] = approx_bytes
) -> Callable[[Callable[P, V]], MemoizedFunction[P, V]]:
    """Decorate a pure function: its results are remembered by argument tuple, at most
    ``max_entries`` of them and ``max_bytes`` in all (arguments' and results' estimated sizes;
    ``value_bytes`` estimates a result), first in, first out. A result of None is never
    remembered."""

    def decorate(function: Callable[P, V]) -> MemoizedFunction[P, V]:
        memo: BoundedMemo[V] = BoundedMemo(max_entries, max_bytes, recency=False)
        return MemoizedFunction(function, memo, value_bytes)

    return decorate

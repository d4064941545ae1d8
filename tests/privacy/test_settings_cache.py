"""The worker's cache of settings: a change is seen once its few seconds are up, not before,
and every key is loaded on its own (the clock is the test's)."""

from __future__ import annotations

from vedette.storage.privacy import SETTINGS_CACHE_SECONDS, ShortCache


def test_a_change_is_seen_within_the_cache_time() -> None:
    now = [100.0]
    stored = {1: "old", 2: "other"}
    loads: list[int] = []

    def load(key: int) -> str:
        loads.append(key)
        return stored[key]

    cache = ShortCache(load, SETTINGS_CACHE_SECONDS, clock=lambda: now[0])
    assert cache(1) == "old" and cache(2) == "other"
    stored[1] = "new"
    now[0] += SETTINGS_CACHE_SECONDS - 0.5
    assert cache(1) == "old"  # a query per event is what the cache saves
    now[0] += 0.5
    assert cache(1) == "new"
    assert loads == [1, 2, 1]
    assert SETTINGS_CACHE_SECONDS <= 5

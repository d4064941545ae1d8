"""Stored events are packed with a zstd context per thread: the same bytes as a fresh context,
and no mix-up when threads pack and unpack at once (a shared context is not thread-safe)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard

from vedette.storage.codec import pack, unpack

CORPUS = Path(__file__).parents[1] / "fixtures/corpora/sentry-samples"
# Sentry's sample events that are valid JSON (two of the corpus are deliberately not).
SAMPLES = [
    CORPUS / f"{name}.json"
    for name in ("aspnetcore", "csp", "elixir", "empty-exception", "java", "javascript",
                 "javascript-transaction", "php")
]  # fmt: skip


def sample(path: Path) -> dict[str, Any]:
    event = orjson.loads(path.read_bytes())
    assert isinstance(event, dict)
    return event


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_an_event_packs_as_a_fresh_context_packs_it_and_unpacks_to_itself(path: Path) -> None:
    event = sample(path)
    fresh = zstandard.ZstdCompressor(level=3).compress(orjson.dumps(event))
    assert pack(event) == fresh
    assert pack(event) == fresh  # the thread's context, used again
    assert unpack(fresh) == event


def test_threads_packing_and_unpacking_at_once_get_their_own_events_back() -> None:
    events = [sample(path) for path in SAMPLES]
    for index, event in enumerate(events):
        event["padding"] = "x" * (100_000 * index)  # long enough to release the GIL meanwhile
    failures: list[str] = []
    start = threading.Barrier(len(events))

    def round_trips(event: dict[str, Any]) -> None:
        start.wait()
        for _ in range(30):
            if unpack(pack(event)) != event:
                failures.append(str(event.get("event_id")))

    threads = [threading.Thread(target=round_trips, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []

"""The worker's memos are bounded in bytes: a flood of large distinct keys stays under the bound.

Each memo below holds event-derived data (keys from untrusted frames, messages and JSON texts).
The flood goes through the real functions that fill it until it has been full and turned over
twice; then clearing the memo must free at most its byte bound (tracemalloc, so the entries'
estimated sizes are checked against what they really hold: orjson's bytes, for instance, keep
a growth buffer several times their length). The bound is lowered to 1 MiB for speed: what is
checked is that the estimate never undercounts. Strings shared with other memos (a stack's
frames are also in the per-frame memos) are counted in each, so some free less than their
estimate.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from vedette.processing import trim, value_rules
from vedette.processing.grouping import frames, parameterize
from vedette.processing.interfaces import stacktrace
from vedette.processing.memo import BoundedMemo
from vedette.processing.trim import Notes


def text(i: int, size: int) -> str:
    """Distinct text of ``size`` characters, no two alike."""
    head = f"{i:09d}-"
    return head + "abcdefghij" * ((size - len(head)) // 10)


def frame(i: int, size: int = 300) -> dict[str, Any]:
    return {
        "filename": f"app/{text(i, size)}.py",
        "abs_path": f"/srv/app/{text(i, size)}.py",
        "module": f"app.{text(i, size)}",
        "function": f"handle_{text(i, size)}",
        "lineno": 10 + i % 90,
        "context_line": f"    total += {text(i, 100)}",
        "in_app": True,
    }


def stack(i: int) -> list[dict[str, Any]]:
    return [frame(i * 8 + j) for j in range(8)]


def nested(i: int) -> bytes:
    """A JSON text deeper than the variables' depth limit, so its nesting is counted."""
    value: Any = text(i, 2000)
    for _ in range(8):
        value = {"next": value}
    return orjson.dumps(value)


FLOODS: list[tuple[str, BoundedMemo[Any], Callable[[int], object]]] = [
    (
        "normalised frame heads",
        stacktrace.FRAME_HEADS,
        lambda i: stacktrace.normalize_stacktrace({"frames": [frame(i)]}, ("st",), Notes()),
    ),
    (
        "frame components",
        frames._cached_frame_component.memo,
        lambda i: frames.frame_component(frame(i), "python"),
    ),
    (
        "built-in rule matches",
        frames._builtin_matches.memo,
        lambda i: frames._matched_rules(frame(i), "python", frames.BUILTIN_RULES),
    ),
    ("stack flags", frames._STACK_FLAGS, lambda i: frames.frame_flags(stack(i), "python")),
    (
        "stack variants",
        frames._STACK_VARIANTS,
        lambda i: frames.stacktrace_variants(stack(i), "python"),
    ),
    (
        "scrubbing decisions",
        value_rules.SCAN_DECISIONS,
        lambda i: value_rules.scan_container(orjson.dumps({"v": text(i, 3000)}), ()),
    ),
    ("bag texts", trim.BAG_TEXTS, lambda i: trim._text_fits(nested(i), 5)),
    (
        "normalised messages",
        parameterize._normalize_message.memo,
        lambda i: parameterize.normalize_message(text(i, 1200)),
    ),
]


@pytest.mark.parametrize(("memo", "fill"), [f[1:] for f in FLOODS], ids=[f[0] for f in FLOODS])
def test_a_flood_of_large_distinct_keys_stays_under_the_byte_bound(
    memo: BoundedMemo[Any], fill: Callable[[int], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    memo.clear()
    monkeypatch.setattr(memo, "max_weight", 1024 * 1024)
    tracemalloc.start()
    try:
        calls = 0
        while memo.weight < memo.max_weight * 3 // 4 and calls < 100_000:
            fill(calls)
            calls += 1
        full = len(memo)
        for i in range(calls, calls + 2 * full):  # turn it over
            fill(i)
        assert memo.max_weight * 3 // 4 <= memo.weight <= memo.max_weight
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        memo.clear()
        gc.collect()
        freed = before - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert 0 < freed <= memo.max_weight
    memo.clear()

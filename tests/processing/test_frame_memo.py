"""Per-frame and per-stack memos: an event comes out exactly as without them.

Normalised frame heads (a frame without its variables) are memoised by their JSON text, and
grouping's and titles' per-stack work by the frame fields they read. These tests process events
with the memos warm (filled by other events) and cold (cleared), and compare: a stale, shared or
mutated entry would show as a difference.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vedette.domain.envelope import parse_envelope
from vedette.processing.grouping import compute_grouping, frames
from vedette.processing.interfaces import stacktrace
from vedette.processing.memo import BoundedMemo
from vedette.processing.normalize import NormalizeContext, normalize_event
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.processing.scrub import ScrubConfig
from vedette.processing.titles import summarize

T0 = 1_795_885_534.0
MEMOS = (stacktrace.FRAME_HEADS, frames._STACK_FLAGS, frames._STACK_VARIANTS)


def clear_memos() -> None:
    for memo in MEMOS:
        memo.clear()


def frame(**fields: Any) -> dict[str, Any]:
    base = {
        "filename": "app/orders.py",
        "abs_path": "/srv/shop/app/orders.py",
        "function": "checkout",
        "module": "app.orders",
        "lineno": 42,
        "pre_context": ["def checkout(cart):", "    total = 0"],
        "context_line": "    total += price(cart)",
        "post_context": ["    return total"],
        "in_app": True,
    }
    return {**base, **fields}


def error_event(stack: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "platform": "python",
        "level": "error",
        "exception": {
            "values": [{"type": "ValueError", "value": "bad cart", "stacktrace": {"frames": stack}}]
        },
        **fields,
    }


def envelope(event: dict[str, Any], event_id: str = "a" * 32) -> bytes:
    payload = orjson.dumps(event)
    header = orjson.dumps({"event_id": event_id})
    return header + b"\n" + orjson.dumps({"type": "event"}) + b"\n" + payload + b"\n"


def processed(event: dict[str, Any], config: ProcessingConfig | None = None) -> bytes:
    """Everything processing keeps of one event, as bytes (events, hashes, titles, _meta)."""
    result = process_envelope(
        parse_envelope(envelope(event)), T0, "10.0.0.1", config or ProcessingConfig()
    )
    return orjson.dumps(result.errors)


def cold(event: dict[str, Any], config: ProcessingConfig | None = None) -> bytes:
    clear_memos()
    return processed(event, config)


def test_same_frames_with_other_variables_keep_their_own_variables() -> None:
    first = error_event([frame(vars={"cart": "[1, 2]"}), frame(lineno=50, vars={"n": "1"})])
    second = error_event([frame(vars={"cart": "[3]"}), frame(lineno=50, vars={"n": "2"})])
    expected_first, expected_second = cold(first), cold(second)
    clear_memos()
    assert processed(first) == expected_first
    assert processed(second) == expected_second  # the heads come from the memo now
    assert stacktrace.FRAME_HEADS.hits >= 2
    assert b'"cart":"[3]"' in expected_second and b'"cart":"[1, 2]"' not in expected_second


def test_same_variables_with_other_files_group_apart() -> None:
    a = error_event([frame(module=None, filename="a.py", vars={"x": "1"})])
    b = error_event([frame(module=None, filename="b.py", vars={"x": "1"})])
    expected_a, expected_b = cold(a), cold(b)
    clear_memos()
    for _ in range(2):
        assert processed(a) == expected_a
        assert processed(b) == expected_b
    hashes_a = orjson.loads(expected_a)[0]["grouping"]["hashes"]
    hashes_b = orjson.loads(expected_b)[0]["grouping"]["hashes"]
    assert hashes_a != hashes_b


def test_mutating_one_result_does_not_reach_the_next() -> None:
    event = error_event([frame(vars={"x": "1"}), frame(function="pay", vars={"y": "2"})])
    expected = cold(event)
    for _ in range(3):
        result = process_envelope(parse_envelope(envelope(event)), T0, None, ProcessingConfig())
        stored = result.errors[0].event
        for item in stored["exception"]["values"][0]["stacktrace"]["frames"]:
            item["pre_context"].append("mutated")
            item["pre_context"][0] = "mutated"
            item["context_line"] = "mutated"
            item["in_app"] = False
            item.pop("function", None)
        assert processed(event) == expected


def test_sensitive_context_lines_are_scrubbed_on_every_hit() -> None:
    secret = frame(context_line="    connect('postgres://app:hunter2@db/shop')", vars={})
    event = error_event([secret, frame(vars={"password": "hunter2"})])
    expected = cold(event)
    assert b"hunter2" not in expected
    for _ in range(2):
        assert processed(event) == expected
    other = ProcessingConfig(scrub=ScrubConfig(enabled=False))
    unscrubbed = cold(event, other)
    assert b"hunter2" in unscrubbed
    assert processed(event) == expected and processed(event, other) == unscrubbed


def test_a_noisy_frame_is_remarked_at_its_own_path_each_time() -> None:
    long_line = frame(context_line="x" * 2000, vars={"a": "1"})
    first = error_event([long_line, frame(lineno=1)])
    second = error_event([frame(lineno=1), frame(lineno=2), long_line])
    expected_first, expected_second = cold(first), cold(second)
    clear_memos()
    assert processed(first) == expected_first
    assert processed(second) == expected_second
    meta = orjson.loads(expected_second)[0]["event"]["_meta"]
    assert "2" in meta["exception"]["values"]["0"]["stacktrace"]["frames"]


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("lineno", [1, True, 1.0, "1", None]),
        ("in_app", [True, 1, "true", "True", None]),
        ("function", ["1", 1, 1.0, True, None, ["1"]]),
        ("pre_context", [["a"], ("a",), [1], ["a", None], [], None]),
        ("context_line", ["", " ", "1", 1, None]),
    ],
)
def test_values_that_look_alike_as_keys_stay_apart(field: str, values: list[Any]) -> None:
    """``1 == True == 1.0`` in Python, but they normalise, group and title differently."""
    events = [
        error_event([frame(**{field: value}), frame(**{"function": "pay", field: value})])
        for value in values
    ]
    expected = [_direct(event) for event in events]
    clear_memos()
    for event, want in [*zip(events, expected, strict=True)] * 2:
        assert _direct(event, clear=False) == want


def _direct(event: dict[str, Any], *, clear: bool = True) -> bytes:
    """normalize_event (which takes any mapping, not only decoded JSON), grouping, title."""
    if clear:
        clear_memos()
    normalised = normalize_event(
        copy.deepcopy(event), NormalizeContext(received=T0, event_id="b" * 32)
    )
    return orjson.dumps(
        [normalised, compute_grouping(normalised), summarize(normalised),
         compute_grouping(event), summarize(event)],
        option=orjson.OPT_NON_STR_KEYS,
    )  # fmt: skip


def test_memos_stay_bounded_under_a_flood_of_distinct_frames() -> None:
    clear_memos()
    limits = {id(memo): memo.max_entries for memo in MEMOS}
    for index in range(max(limits.values()) + 300):
        event = error_event([frame(function=f"f{index}", vars={"i": str(index)})])
        processed(event)
    for memo in MEMOS:
        assert 0 < len(memo) <= limits[id(memo)]
        assert memo.weight <= memo.max_weight
    # The newest frames are still there and still right.
    last = error_event([frame(function=f"f{index}", vars={"i": "other"})])
    assert processed(last) == cold(last)


def test_deep_stacks_count_by_their_frames() -> None:
    clear_memos()
    memo = frames._STACK_VARIANTS
    deep = max(memo.max_weight // 100, 2)
    for index in range(120):
        stack = [frame(function=f"f{index}", lineno=line) for line in range(min(deep, 100))]
        compute_grouping(error_event(stack))
    assert memo.weight <= memo.max_weight
    assert len(memo) * min(deep, 100) <= memo.max_weight


def test_huge_frames_are_not_kept() -> None:
    clear_memos()
    big = frame(pre_context=["y" * 1000] * 10, vars={})
    processed(error_event([big]))
    assert len(stacktrace.FRAME_HEADS) == 0


def test_bounded_memo_evicts_least_recently_used() -> None:
    memo: BoundedMemo[int] = BoundedMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "b" is now the least recently used
    memo.put("c", 3)
    assert memo.get("b") is None and memo.get("a") == 1 and memo.get("c") == 3
    assert len(memo) == 2


def test_bounded_memo_keeps_within_its_weight() -> None:
    memo: BoundedMemo[str] = BoundedMemo(100, max_weight=10)
    memo.put("a", "x", 4)
    memo.put("b", "y", 4)
    memo.put("c", "z", 4)  # 12 > 10: "a" goes
    assert memo.get("a") is None and memo.weight == 8
    memo.put("huge", "w", 11)  # never kept
    assert memo.get("huge") is None and memo.weight == 8
    memo.put("b", "y2", 1)  # replacing an entry replaces its weight
    assert memo.weight == 5 and memo.get("b") == "y2"


# --- property: warm memos change nothing ------------------------------------------------------

texts = st.sampled_from(
    ["", " ", "a.py", "/srv/app/a.py", "node_modules/x/y.js", "https://cdn.example/x.js", "1",
     "checkout", "password=hunter2", "@babel/runtime", "reportError", "<anonymous>", "x" * 130,
     "app.orders", "lambda$1", "\u00e9t\u00e9"]
)  # fmt: skip
scalars = st.none() | st.booleans() | st.integers(-2, 2) | texts | st.floats(allow_nan=True)
frame_fields = st.fixed_dictionaries(
    {},
    optional={
        "filename": texts | scalars, "abs_path": texts, "module": texts | scalars,
        "function": texts | scalars, "raw_function": texts, "package": texts,
        "platform": st.sampled_from(["python", "javascript", "node", "java", "native", "ruby"]),
        "lineno": scalars, "colno": st.integers(0, 3), "in_app": scalars,
        "context_line": texts | scalars, "pre_context": st.lists(texts | scalars, max_size=2),
        "vars": st.dictionaries(texts, texts | scalars, max_size=2),
        "data": st.fixed_dictionaries({}, optional={"sourcemap": texts}),
    },
)  # fmt: skip
stacks = st.lists(frame_fields, max_size=5)


def _stacks_of(event: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    for value in event["exception"]["values"]:
        yield value["stacktrace"]["frames"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(stacks, min_size=1, max_size=2),
    st.sampled_from(["python", "javascript", "java"]),
    st.integers(0, 3),
)
def test_warm_memos_change_nothing(
    stack_list: list[list[dict[str, Any]]], platform: str, repeat: int
) -> None:
    events = [error_event(stack, platform=platform) for stack in stack_list]
    expected = [_direct(event) for event in events]
    clear_memos()
    for _ in range(2):  # second round: every head and stack is a hit
        for event, want in zip(events, expected, strict=True):
            assert _direct(event, clear=False) == want
    # A stack that repeats a frame (recursion) and one frame alone.
    for stack in stack_list[:1]:
        if stack:
            twice = error_event(
                [stack[0], copy.deepcopy(stack[0]), *stack[repeat:]], platform=platform
            )
            alone = error_event(stack[:1], platform=platform)
            for event in (twice, alone):
                want = _direct(event)
                _direct(events[0], clear=False)
                assert _direct(event, clear=False) == want

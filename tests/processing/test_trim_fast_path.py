"""The databag fast path returns exactly what the per-node walk would have."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vedette.processing.trim import BagLimit, Notes, _bag, _fits_as_is, nesting, trim_bag

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=40,
)


def slow(value: Any, limit: BagLimit) -> Any:
    return _bag(value, (), Notes(), 0, limit.depth, [limit.size])


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(max_size=10), values, min_size=1, max_size=6), st.integers(1, 6))
def test_fast_path_agrees_with_the_walk(bag: dict[str, Any], depth: int) -> None:
    limit = BagLimit(depth, 4096)
    if _fits_as_is(bag, limit.size, limit.depth):
        assert trim_bag(bag, (), Notes(), limit) == slow(bag, limit)


def test_too_deep_takes_the_walk() -> None:
    deep = {"a": {"b": {"c": {"d": 1}}}}
    assert not _fits_as_is(deep, 1000, 3)
    assert _fits_as_is(deep, 1000, 4)
    assert trim_bag(deep, (), Notes(), BagLimit(3, 1000)) == {"a": {"b": {"c": None}}}


def test_storage_hostile_values_take_the_walk() -> None:
    assert not _fits_as_is({"a": "nul\x00byte"}, 1000, 5)
    assert not _fits_as_is({"a": "\ud800"}, 1000, 5)
    assert not _fits_as_is({"a": 2**80}, 1000, 5)
    assert not _fits_as_is({"a": "x" * 2000}, 1000, 5)


def nested(levels: int) -> Any:
    value: Any = [1]
    for _ in range(levels - 1):
        value = [value]
    return value


NESTING_CASES: list[tuple[str, Any, int, int]] = [
    ("empty list", [], 5, 1),
    ("flat list", [1, "a"], 5, 1),
    ("an empty container adds no level", [[], {}], 5, 1),
    ("tag pairs", [["k", "v"]] * 60, 5, 2),
    ("objects in objects", {"a": {"b": {"c": 1}}, "d": 2}, 5, 3),
    ("the deepest branch counts", [[1], [[[1]]]], 5, 4),
    ("exactly at the limit", nested(5), 5, 5),
    ("one past the limit", nested(6), 5, 6),
    ("far past the limit stops at limit + 1", nested(200), 64, 65),
]


@pytest.mark.parametrize(
    ("value", "limit", "levels"), [c[1:] for c in NESTING_CASES], ids=[c[0] for c in NESTING_CASES]
)
def test_nesting(value: Any, limit: int, levels: int) -> None:
    assert nesting(value, limit) == levels

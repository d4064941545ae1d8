"""A batch's keys grouped by project for its lookups (storage.batch_keys)."""

from __future__ import annotations

import pytest

from vedette.storage.batch_keys import by_project

CASES: list[tuple[str, list[tuple[int, str]], dict[int, list[str]]]] = [
    ("nothing", [], {}),
    ("one project", [(1, "b"), (1, "a")], {1: ["a", "b"]}),
    ("projects in order, keys sorted", [(2, "z"), (1, "y"), (2, "x")], {1: ["y"], 2: ["x", "z"]}),
    ("a key in two projects", [(1, "k"), (2, "k")], {1: ["k"], 2: ["k"]}),
]


@pytest.mark.parametrize(("keys", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_by_project(keys: list[tuple[int, str]], expected: dict[int, list[str]]) -> None:
    grouped = by_project(keys)
    assert grouped == expected
    assert list(grouped) == sorted(grouped)  # rows are locked in this order

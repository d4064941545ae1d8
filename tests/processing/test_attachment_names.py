"""Attachments of one event get unique names, deterministically (a spool retry names them the
same, and storage keeps one per event and name)."""

from __future__ import annotations

import pytest

from vedette.processing.pipeline import unique_name

CASES: list[tuple[str, str, set[str], int, str]] = [
    ("a free name", "a.txt", set(), 256, "a.txt"),
    ("the second", "a.txt", {"a.txt"}, 256, "a (2).txt"),
    ("the third", "a.txt", {"a.txt", "a (2).txt"}, 256, "a (3).txt"),
    ("no extension", "core", {"core"}, 256, "core (2)"),
    ("a dot file", ".env", {".env"}, 256, ".env (2)"),
    ("at the length limit", "x" * 10 + ".log", {"x" * 10 + ".log"}, 14, "x" * 6 + " (2).log"),
]


@pytest.mark.parametrize(
    ("name", "taken", "chars", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_unique_name(name: str, taken: set[str], chars: int, expected: str) -> None:
    found = unique_name(name, taken, chars)
    assert found == expected and len(found) <= chars and found not in taken

"""``assignedTo`` values and the assignment terms of the search language."""

from __future__ import annotations

import pytest

from vedette.domain.assignment import AssigneeError, AssigneeKind, AssigneeRef, parse_assignee
from vedette.domain.search import (
    NO_VIEWER,
    AssignedFilter,
    AssignedKind,
    for_viewer,
    parse_search,
)


@pytest.mark.parametrize(
    ("raw", "ref"),
    [
        ("", None),
        (None, None),
        ("user:42", AssigneeRef(AssigneeKind.USER, "42")),
        ("Ann@Example.COM", AssigneeRef(AssigneeKind.EMAIL, "ann@example.com")),
        ("team:back-end", AssigneeRef(AssigneeKind.TEAM, "back-end")),
    ],
)
def test_assigned_to_values(raw: object, ref: AssigneeRef | None) -> None:
    assert parse_assignee(raw) == ref


@pytest.mark.parametrize(
    "raw", ["user:", "user:x", "team:", "team:Not A Slug", "nobody", "a b@c", 42, ["user:1"]]
)
def test_bad_assigned_to_values(raw: object) -> None:
    with pytest.raises(AssigneeError):
        parse_assignee(raw)


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("is:assigned", (AssignedFilter(AssignedKind.ANY),)),
        ("is:unassigned", (AssignedFilter(AssignedKind.ANY, negated=True),)),
        ("!is:unassigned", (AssignedFilter(AssignedKind.ANY),)),
        ("assigned:me", (AssignedFilter(AssignedKind.ME),)),
        ("assigned:Ann@Example.com", (AssignedFilter(AssignedKind.EMAIL, "ann@example.com"),)),
        ("!assigned:#ops", (AssignedFilter(AssignedKind.TEAM, "ops", negated=True),)),
    ],
)
def test_assignment_search_terms(query: str, wanted: tuple[AssignedFilter, ...]) -> None:
    search = parse_search(f"is:unresolved {query} boom")
    assert (search.assigned, search.statuses, search.text, search.problems) == (
        wanted, ("unresolved",), "boom", (),
    )  # fmt: skip


def test_a_bad_assigned_term_is_a_problem() -> None:
    assert parse_search("assigned:nobody").problems == (
        "assigned: takes me, an email or #team, not 'nobody'",
    )


def test_me_is_the_viewer_and_a_token_is_no_one() -> None:
    search = parse_search("assigned:me")
    assert for_viewer(search, 7).assigned == (AssignedFilter(AssignedKind.USER, "7"),)
    assert for_viewer(search, None).problems == (NO_VIEWER,)
    plain = parse_search("is:assigned")
    assert for_viewer(plain, None) == plain

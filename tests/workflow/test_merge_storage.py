"""Merging two issues of 1,000 events each leaves exactly what storing all 2,000 events in one
issue leaves: counters, users and tag values; new events of a child's fingerprint land in the
parent; the merge is in the parent's activity (both engines)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from vedette.domain.envelope import parse_envelope
from vedette.domain.processed import ProcessedEnvelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.storage import accounts, issue_activity, queries
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed
from vedette.storage.merge import MergeCandidate, MergeError, choose_parent, merge_issues
from vedette.storage.schema import events, group_hashes, group_tag_values, group_users, groups

START = 1_795_000_000.0
PER_ISSUE = 1000


def error(fingerprint: str, n: int, offset: float) -> dict[str, Any]:
    """The n-th event of an issue: users and environments overlap between the two issues."""
    user = n % 400 + (0 if fingerprint == "a" else 250)
    return {
        "event_id": uuid.uuid5(uuid.NAMESPACE_OID, f"{fingerprint}-{n}").hex,
        "message": f"boom {fingerprint}",
        "level": "error",
        "timestamp": START + offset + n,
        "fingerprint": [f"merge-test-{fingerprint}"],
        "environment": ("production", "staging", f"env-{fingerprint}")[n % 3],
        "release": f"shop@1.{n // 250}",
        "user": {"id": f"u{user}", "email": f"u{user}@example.com"},
        "tags": {"tenant": f"t{n % 7}"},
    }


def envelope(payloads: list[dict[str, Any]]) -> ProcessedEnvelope:
    lines = [orjson.dumps({})]
    for payload in payloads:
        body = orjson.dumps(payload)
        lines += [orjson.dumps({"type": "event", "length": len(body)}), body]
    return process_envelope(parse_envelope(b"\n".join(lines)), START, None, ProcessingConfig())


def store(db: Database, project_id: int, payloads: list[dict[str, Any]]) -> set[int]:
    group_ids: set[int] = set()
    for start in range(0, len(payloads), 250):
        with db.write() as conn:
            batch = [(project_id, envelope(payloads[start : start + 250]))]
            group_ids |= {o.group_id for o in store_processed(conn, batch, START)}
    return group_ids


def snapshot(db: Database, group_id: int) -> dict[str, Any]:
    """Everything an issue counts, without its id."""
    with db.read() as conn:
        g = conn.execute(select(groups).where(groups.c.id == group_id)).one()
        tags = conn.execute(
            select(
                group_tag_values.c.key,
                group_tag_values.c.value,
                group_tag_values.c.times_seen,
                group_tag_values.c.first_seen,
                group_tag_values.c.last_seen,
            ).where(group_tag_values.c.group_id == group_id)
        ).all()
        users = conn.execute(
            select(group_users.c.user_key).where(group_users.c.group_id == group_id)
        ).scalars()
        event_ids = conn.execute(
            select(events.c.event_id).where(events.c.group_id == group_id)
        ).scalars()
        return {
            "counters": (g.times_seen, g.first_seen, g.last_seen, g.first_release, g.last_release),
            "tags": sorted(tuple(t) for t in tags),
            "users": sorted(users),
            "events": sorted(event_ids),
        }


def test_a_merge_keeps_exact_counts_users_and_tag_values(db: Database) -> None:
    a = [error("a", n, 0) for n in range(PER_ISSUE)]
    b = [error("b", n, 400) for n in range(PER_ISSUE)]
    with db.write() as conn:
        split = accounts.create_project(conn, "acme", "split").id
        whole = accounts.create_project(conn, "acme", "whole").id
    [issue_a] = store(db, split, a)
    [issue_b] = store(db, split, b)
    as_one = [{**p, "fingerprint": ["one"]} for p in a + b]
    [reference] = store(db, whole, as_one)

    with db.write() as conn:
        result = merge_issues(conn, split, [issue_b, issue_a], user_id=None, now=START + 5000)
    # Equal sizes: the older issue is the parent.
    assert (result.parent, result.children) == (issue_a, [issue_b])
    merged = snapshot(db, issue_a)
    assert merged == snapshot(db, reference)
    assert merged["counters"][0] == 2 * PER_ISSUE
    assert len(merged["users"]) == 650  # u0..u399 and u250..u649
    with db.read() as conn:
        assert queries.get_issue(conn, issue_b) is None
        assert set(
            conn.execute(
                select(group_hashes.c.group_id).where(group_hashes.c.project_id == split)
            ).scalars()
        ) == {issue_a}
        activity = issue_activity.issue_activity(conn, issue_a)
    assert [x.type for x in activity] == ["merge", "first_seen", "first_seen"]
    assert activity[0].data["issues"][0]["id"] == str(issue_b)

    # A new event with the child's fingerprint joins the parent.
    later = {**error("b", PER_ISSUE, 400), "event_id": uuid.uuid4().hex}
    assert store(db, split, [later]) == {issue_a}
    assert snapshot(db, issue_a)["counters"][0] == 2 * PER_ISSUE + 1


def test_a_merge_needs_two_issues_of_the_project(db: Database) -> None:
    with db.write() as conn:
        mine = accounts.create_project(conn, "acme", "mine").id
        other = accounts.create_project(conn, "acme", "other").id
    [own] = store(db, mine, [error("a", 0, 0)])
    [foreign] = store(db, other, [error("b", 0, 0)])
    with db.write() as conn, pytest.raises(MergeError):
        merge_issues(conn, mine, [own, foreign], user_id=None, now=START)


@pytest.mark.parametrize(
    ("candidates", "parent"),
    [
        ([MergeCandidate(1, 10, 5.0), MergeCandidate(2, 20, 9.0)], 2),  # the largest
        ([MergeCandidate(1, 10, 9.0), MergeCandidate(2, 10, 5.0)], 2),  # equals: the oldest
        ([MergeCandidate(3, 10, 5.0), MergeCandidate(2, 10, 5.0)], 2),  # then the lowest id
    ],
)
def test_the_parent_is_the_largest_then_the_oldest(
    candidates: list[MergeCandidate], parent: int
) -> None:
    assert choose_parent(candidates) == parent

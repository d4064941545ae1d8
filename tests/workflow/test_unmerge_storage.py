"""Unmerging gives back exactly what a merge took: merge two issues of distinct and shared users
and tag values, unmerge the child's hash, and both issues count what they counted before the
merge (events, first and last seen, releases, users, tag values with their bounds), whichever
issue held which bound; later events of the hash land in the new issue (both engines)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import select, update
from tests.workflow.test_merge_storage import START, error, snapshot

from vedette.domain.envelope import parse_envelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.processing.titles import summarize
from vedette.storage import accounts, issue_activity, issue_redirects, queries
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed
from vedette.storage.merge import merge_issues
from vedette.storage.schema import events, group_hashes
from vedette.storage.unmerge import UnmergeError, issue_hashes, unmerge

# Received a day after the events happened: their timestamps are kept as sent (a timestamp
# more than a minute ahead of its arrival would be moved back to it).
NOW = START + 86_400


def store(db: Database, project_id: int, payloads: list[dict[str, Any]]) -> set[int]:
    """Store the events in batches of 100, received at NOW; the issues they went to."""
    group_ids: set[int] = set()
    for start in range(0, len(payloads), 100):
        lines = [orjson.dumps({})]
        for payload in payloads[start : start + 100]:
            body = orjson.dumps(payload)
            lines += [orjson.dumps({"type": "event", "length": len(body)}), body]
        processed = process_envelope(
            parse_envelope(b"\n".join(lines)), NOW, None, ProcessingConfig()
        )
        with db.write() as conn:
            group_ids |= {o.group_id for o in store_processed(conn, [(project_id, processed)], NOW)}
    return group_ids


def whole(db: Database, issue_id: int) -> dict[str, Any]:
    """``snapshot`` and what the issue page shows of the issue itself."""
    with db.read() as conn:
        issue = queries.get_issue(conn, issue_id)
    assert issue is not None
    return {
        **snapshot(db, issue_id),
        "issue": (issue.title, issue.culprit, issue.level, issue.type, issue.user_count),
    }


def forget_hashes(db: Database, issue_id: int) -> None:
    """As if the issue's events had been stored before migration 0024."""
    with db.write() as conn:
        conn.execute(update(events).where(events.c.group_id == issue_id).values(grouping_hash=None))


# (a's events, b's events, b's offset in seconds from a, a's events stored before 0024)
CASES = {
    "interleaved": (300, 300, 120, False),
    "the child is older": (200, 300, -1000, False),  # b is the parent, holds every first bound
    "the child is newer": (300, 200, 1000, False),
    "same seconds": (250, 250, 0, False),  # ties: every bound is held by both
    "events from before 0024": (200, 150, 60, True),
}


@pytest.mark.parametrize(("a_size", "b_size", "offset", "legacy"), CASES.values(), ids=CASES)
def test_an_unmerge_gives_back_what_the_merge_took(
    db: Database, a_size: int, b_size: int, offset: float, legacy: bool
) -> None:
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "split").id
    [a] = store(db, project, [error("a", n, 0) for n in range(a_size)])
    [b] = store(db, project, [error("b", n, offset) for n in range(b_size)])
    if legacy:
        forget_hashes(db, a)
    before = {a: whole(db, a), b: whole(db, b)}
    with db.read() as conn:
        hash_of = {
            issue: conn.execute(
                select(group_hashes.c.hash).where(group_hashes.c.group_id == issue)
            ).scalar_one()
            for issue in (a, b)
        }

    with db.write() as conn:
        merged = merge_issues(conn, project, [a, b], user_id=None, now=NOW)
    [child] = merged.children
    parent = merged.parent
    with db.read() as conn:
        listed = issue_hashes(conn, parent)
    assert {h.hash: h.events for h in listed} == {
        hash_of[a]: a_size,  # a's events of before 0024 were given their only hash by the merge
        hash_of[b]: b_size,
    }

    with db.write() as conn:
        result = unmerge(conn, parent, [hash_of[child]], None, NOW + 10, summarize)
    assert (result.source, result.events) == (parent, len(before[child]["events"]))
    assert whole(db, parent) == before[parent]
    assert whole(db, result.destination) == before[child]

    with db.read() as conn:
        owners = {
            h: g
            for h, g in conn.execute(
                select(group_hashes.c.hash, group_hashes.c.group_id).where(
                    group_hashes.c.project_id == project
                )
            ).all()
        }
        source_activity = issue_activity.issue_activity(conn, parent)
        destination_activity = issue_activity.issue_activity(conn, result.destination)
    assert owners == {hash_of[parent]: parent, hash_of[child]: result.destination}
    assert source_activity[0].type == "unmerge_source"
    assert source_activity[0].data == {
        "fingerprints": [hash_of[child]],
        "destination_id": str(result.destination),
    }
    assert [x.type for x in destination_activity] == ["unmerge_destination"]
    assert destination_activity[0].data["source_id"] == str(parent)

    # A later event of the child's fingerprint joins the new issue.
    fingerprint = "a" if child == a else "b"
    later = {**error(fingerprint, 10_000, offset), "event_id": uuid.uuid4().hex}
    assert store(db, project, [later]) == {result.destination}


Refusal = Callable[[dict[str, str]], list[str]]
REFUSALS: dict[str, Refusal] = {
    "no hash": lambda hashes: [],
    "every hash": lambda hashes: [hashes["a"], hashes["b"]],
    "a hash of another issue": lambda hashes: [hashes["c"]],
    "an unknown hash": lambda hashes: [hashes["a"], "0" * 32],
}


@pytest.mark.parametrize("pick", REFUSALS.values(), ids=REFUSALS)
def test_an_unmerge_leaves_the_issue_a_hash_of_its_own(db: Database, pick: Refusal) -> None:
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "refusals").id
    issues = {fp: store(db, project, [error(fp, n, 0) for n in range(3)]).pop() for fp in "abc"}
    with db.write() as conn:
        merge_issues(conn, project, [issues["a"], issues["b"]], user_id=None, now=NOW)
        hashes = {
            fp: conn.execute(
                select(events.c.grouping_hash).where(events.c.group_id.in_(issues.values()))
                .where(events.c.title.contains(f"boom {fp}")).limit(1)
            ).scalar_one()
            for fp in "abc"
        }  # fmt: skip
    before = whole(db, issues["a"])
    with db.write() as conn, pytest.raises(UnmergeError):
        unmerge(conn, issues["a"], pick(hashes), None, NOW, summarize)
    assert whole(db, issues["a"]) == before


def test_events_without_a_hash_stay_with_the_issue(db: Database) -> None:
    """Merged issues with events of before 0024 that the merge could not attribute (the issue
    owned two hashes): the unmerge moves only the events that know their hash."""
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "legacy").id
    [a] = store(db, project, [error("a", n, 0) for n in range(20)])
    [b] = store(db, project, [error("b", n, 5) for n in range(10)])
    [c] = store(db, project, [error("c", n, 9) for n in range(5)])
    with db.write() as conn:
        merged = merge_issues(conn, project, [a, b], user_id=None, now=NOW)
    assert merged.parent == a
    forget_hashes(db, a)  # now a owns two hashes: nothing tells its old events apart
    with db.write() as conn:
        merge_issues(conn, project, [a, c], user_id=None, now=NOW)
        [listed] = issue_hashes(conn, a)
        assert listed.events == 5
        with pytest.raises(UnmergeError):  # c's hash is the only one left to tell
            unmerge(conn, a, [listed.hash], None, NOW, summarize)


def test_a_merged_issue_leads_to_the_issue_it_went_into(db: Database) -> None:
    with db.write() as conn:
        project = accounts.create_project(conn, "acme", "redirects").id
    a, b, c = (store(db, project, [error(fp, n, 0) for n in range(k)]).pop()
               for fp, k in (("a", 3), ("b", 2), ("c", 8)))  # fmt: skip
    with db.write() as conn:
        assert issue_redirects.follow(conn, b) is None
        merge_issues(conn, project, [a, b], user_id=None, now=NOW)
        assert issue_redirects.follow(conn, b) == a
        merge_issues(conn, project, [a, c], user_id=None, now=NOW)  # c is the larger
        assert (issue_redirects.follow(conn, a), issue_redirects.follow(conn, b)) == (c, c)

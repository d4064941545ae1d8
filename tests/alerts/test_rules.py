"""Each issue trigger fires exactly when it should, on both engines, with a moved clock."""

from __future__ import annotations

import pytest
from tests.alerts.bench import BASE_URL, T0, AlertBench, error_event

from vedette.domain.events import IssueStatus
from vedette.storage import queries
from vedette.storage.database import Database
from vedette.storage.snoozes import Snooze, snooze_issue

HOUR = 3600.0


def test_new_issue_fires_once_per_issue(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("new_issue", name="New checkout errors")
    bench.send([error_event("checkout", T0), error_event("checkout", T0 + 1)], T0 + 2)
    bench.send([error_event("checkout", T0 + 10)], T0 + 11)
    [message] = bench.messages()
    [issue_id] = bench.issue_ids()
    assert message["reason"] == "New issue"
    assert message["rule_name"] == "New checkout errors"
    assert message["issue_id"] == issue_id
    assert message["url"] == f"{BASE_URL}/p/acme/{bench.project.slug}/issues/{issue_id}/"
    assert message["title"] == "KeyError: 'checkout'"
    assert message["event_count"] == 2
    assert message["environment"] == "production"
    assert message["release"] == "shop@1.0.0"
    bench.send([error_event("refund", T0 + 20)], T0 + 21)
    assert [m["title"] for m in bench.messages()] == ["KeyError: 'checkout'", "KeyError: 'refund'"]


def test_every_action_gets_its_own_notification_id(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("new_issue", "webhook:https://hooks.test/a", "email:ops@example.com")
    bench.send([error_event("checkout", T0)], T0)
    first, second = bench.messages()
    assert first["id"] != second["id"]
    assert {first["title"], second["title"]} == {"KeyError: 'checkout'"}


def test_frequency_fires_at_the_threshold_and_once_per_interval(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("frequency", threshold=5, window_seconds=600, interval_seconds=3600)
    bench.send([error_event("checkout", T0 + i) for i in range(4)], T0 + 5)
    assert bench.messages() == []
    bench.send([error_event("checkout", T0 + 6)], T0 + 6)
    [message] = bench.messages()
    assert message["reason"] == "5 events in the last 10 min"
    bench.send([error_event("checkout", T0 + 10 + i) for i in range(20)], T0 + 40)
    assert len(bench.messages()) == 1  # within the action interval
    later = T0 + 3700
    bench.send([error_event("checkout", later - 5 + i) for i in range(5)], later)
    assert len(bench.messages()) == 2
    # Events spread wider than the window never reach the threshold.
    quiet = T0 + 10 * HOUR
    bench.send([error_event("slow-leak", quiet + i * 700) for i in range(6)], quiet + 3600)
    assert len(bench.messages()) == 2


def test_distinct_users_within_the_window(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("users", threshold=3, window_seconds=3600)
    bench.send([error_event("checkout", T0, user="u1"), error_event("checkout", T0, user="u1")], T0)
    bench.send([error_event("checkout", T0 + 1, user="u2")], T0 + 1)
    assert bench.messages() == []
    bench.send([error_event("checkout", T0 + 2, user="u3")], T0 + 2)
    [message] = bench.messages()
    assert message["reason"] == "3 users in the last 1 h"
    assert message["user_count"] == 3


def test_regression_after_a_resolve(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("regression")
    bench.send([error_event("checkout", T0)], T0)
    [issue_id] = bench.issue_ids()
    with db.write() as conn:
        queries.set_issue_status(conn, issue_id, IssueStatus.RESOLVED, T0 + 100, None)
    # An event that happened before the resolution (but arrives after it) is no regression.
    bench.send([error_event("checkout", T0 + 50)], T0 + 200)
    assert bench.messages() == []
    bench.send([error_event("checkout", T0 + 300)], T0 + 300)
    [message] = bench.messages()
    assert message["reason"].startswith("Regressed")


def test_spike_against_the_issue_baseline(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("spike", threshold=10, min_count=10)
    now = T0 + 48 * HOUR
    # Baseline: two events an hour for the 47 hours before the last one.
    baseline = [error_event("checkout", T0 + h * HOUR + m * 60) for h in range(47) for m in (5, 35)]
    bench.send(baseline, T0 + 47 * HOUR)
    bench.send([error_event("checkout", now - 1800 + i) for i in range(15)], now)
    assert bench.messages() == []  # 15 in an hour is not 10x the hourly 2
    bench.send([error_event("checkout", now - 900 + i) for i in range(10)], now + 1)
    [message] = bench.messages()
    assert message["reason"] == "Spike: 25 events in the last hour, against 2.0 an hour before"
    # A quiet issue's second event is no spike.
    bench.send([error_event("rare", now), error_event("rare", now + 1)], now + 2)
    assert len(bench.messages()) == 1


def test_filters_use_the_search_language(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("new_issue", filter_query="environment:production level:error tenant:acme")
    bench.send([error_event("a", T0, environment="staging", tags={"tenant": "acme"})], T0)
    bench.send([error_event("b", T0, level="warning", tags={"tenant": "acme"})], T0)
    bench.send([error_event("c", T0, tags={"tenant": "globex"})], T0)
    assert bench.messages() == []
    bench.send([error_event("d", T0, tags={"tenant": "acme"})], T0)
    assert [m["title"] for m in bench.messages()] == ["KeyError: 'd'"]


def test_a_filter_judges_each_event_of_a_batch_not_only_the_newest(db: Database) -> None:
    """A new issue's production error, then a staging one in the same worker batch: the rule
    filtered to production fires, for the production event."""
    bench = AlertBench(db)
    bench.rule("new_issue", filter_query="environment:production")
    first = error_event("checkout", T0)
    bench.send([first, error_event("checkout", T0 + 1, environment="staging")], T0 + 2)
    [message] = bench.messages()
    assert (message["event"]["event_id"], message["environment"]) == (
        first["event_id"], "production",
    )  # fmt: skip
    bench.send([error_event("cart", T0 + 3, environment="staging")], T0 + 4)
    assert len(bench.messages()) == 1  # a staging-only issue still fires nothing


def test_free_text_and_negated_filters(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("new_issue", filter_query="!release:shop@0.9 payment")
    bench.send([error_event("a", T0, message="payment declined", release="shop@0.9")], T0)
    bench.send([error_event("b", T0, message="cart empty")], T0)
    bench.send([error_event("c", T0, message="payment gateway timeout")], T0)
    assert [m["title"] for m in bench.messages()] == ["KeyError: payment gateway timeout"]


def test_a_muted_issue_alerts_no_one_until_its_snooze_runs_out(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("frequency", threshold=1, window_seconds=600, interval_seconds=60)
    bench.rule("regression", name="comebacks")
    bench.send([error_event("checkout", T0)], T0)
    assert len(bench.messages()) == 1
    [issue_id] = bench.issue_ids()
    with db.write() as conn:
        snooze_issue(conn, issue_id, Snooze(more_events=3), T0 + 1)
    bench.send([error_event("checkout", T0 + 100)], T0 + 100)
    bench.send([error_event("checkout", T0 + 200)], T0 + 200)
    assert len(bench.messages()) == 1  # muted
    bench.send([error_event("checkout", T0 + 300)], T0 + 300)  # the third more event
    reasons = sorted(m["reason"] for m in bench.messages()[1:])
    assert reasons == [
        "4 events in the last 10 min",
        "Escalated: an ignored issue reached the condition it was ignored until",
    ]
    with db.read() as conn:
        issue = queries.get_issue(conn, issue_id)
    assert issue is not None and issue.status == IssueStatus.UNRESOLVED


def test_ignored_forever_stays_muted(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("frequency", threshold=1, window_seconds=600, interval_seconds=60)
    bench.send([error_event("checkout", T0)], T0)
    [issue_id] = bench.issue_ids()
    with db.write() as conn:
        snooze_issue(conn, issue_id, Snooze(), T0)
    for i in range(1, 5):
        bench.send([error_event("checkout", T0 + i * 100)], T0 + i * 100)
    assert len(bench.messages()) == 1


@pytest.mark.parametrize(
    ("snooze", "events", "at", "escalates"),
    [
        (Snooze(seconds=3600), 1, T0 + 1000, False),
        (Snooze(seconds=3600), 1, T0 + 3601, True),
        (Snooze(more_users=2), 1, T0 + 10, False),
        (Snooze(more_users=2), 2, T0 + 10, True),
    ],
)
def test_snooze_conditions(
    db: Database, snooze: Snooze, events: int, at: float, escalates: bool
) -> None:
    bench = AlertBench(db)
    bench.send([error_event("checkout", T0, user="u0")], T0)
    [issue_id] = bench.issue_ids()
    with db.write() as conn:
        snooze_issue(conn, issue_id, snooze, T0)
    bench.send([error_event("checkout", at, user=f"new{i}") for i in range(events)], at)
    with db.read() as conn:
        issue = queries.get_issue(conn, issue_id)
    assert issue is not None
    assert issue.status == (IssueStatus.UNRESOLVED if escalates else IssueStatus.IGNORED)

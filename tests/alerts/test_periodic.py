"""Cron monitors, metric rules, digests, the hourly cap and PagerDuty resolves: the alert jobs
that move with the clock, driven by ``tick(now)`` on both engines."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select
from tests.alerts.bench import T0, AlertBench, error_event
from tests.performance.traffic import transaction

from vedette.domain.events import IssueStatus
from vedette.storage import alert_outbox, alert_rules, queries
from vedette.storage.database import Database
from vedette.storage.schema import events, groups, notification_attempts

MINUTE = 60.0


def check_in(slug: str, status: str, check_in_id: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return (
        "check_in",
        {"check_in_id": check_in_id, "monitor_slug": slug, "status": status, **extra},
    )


MONITOR = {
    "schedule": {"type": "interval", "value": 10, "unit": "minute"},
    "checkin_margin": 2,
    "max_runtime": 5,
}


def test_a_failed_check_in_opens_the_monitor_issue_and_fires_cron_rules(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("cron", name="Jobs")
    bench.rule("new_issue", name="New issues")
    bench.send_items([check_in("sync", "ok", "1" * 32, monitor_config=MONITOR)], T0)
    assert bench.messages() == []
    bench.send_items([check_in("sync", "error", "2" * 32)], T0 + 5 * MINUTE)
    messages = bench.messages()
    assert sorted((m["rule_name"], m["reason"]) for m in messages) == [
        ("Jobs", "Cron monitor sync failed"),
        ("New issues", "New issue"),
    ]
    assert {m["title"] for m in messages} == {"Cron failure: sync"}
    # The same envelope again (an at-least-once retry) is not a second failure.
    bench.send_items([check_in("sync", "error", "2" * 32)], T0 + 5 * MINUTE)
    with db.read() as conn:
        [issue] = conn.execute(select(groups).where(groups.c.project_id == bench.project.id))
        assert issue.times_seen == 1


def test_missed_and_timed_out_check_ins_fire_with_a_moved_clock(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("cron", interval_seconds=60)
    bench.send_items([check_in("sync", "ok", "1" * 32, monitor_config=MONITOR)], T0)
    bench.tick(T0 + 11 * MINUTE)  # the next tick is due at +10, missed at +12
    assert bench.messages() == []
    bench.tick(T0 + 12 * MINUTE)
    [missed] = bench.messages()
    assert missed["reason"] == "Cron monitor sync missed a check-in"
    bench.tick(T0 + 12.5 * MINUTE)  # nothing new
    assert len(bench.messages()) == 1
    bench.send_items([check_in("sync", "in_progress", "3" * 32)], T0 + 20 * MINUTE)
    bench.tick(T0 + 25 * MINUTE)  # max runtime 5 minutes
    reasons = [m["reason"] for m in bench.messages()]
    assert reasons[-1] == "Cron monitor sync timed out"
    with db.read() as conn:
        [issue] = conn.execute(select(groups).where(groups.c.project_id == bench.project.id))
        assert issue.title == "Cron failure: sync"
        assert issue.times_seen == 2


def _transactions(start: float, durations_ms: list[float], status: str = "ok") -> list[Any]:
    return [
        ("transaction", transaction("/checkout", start + i, d, status=status))
        for i, d in enumerate(durations_ms)
    ]


def test_a_metric_rule_fires_and_resolves(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule(
        "metric",
        name="Slow checkout",
        metric="p95",
        transaction="/checkout",
        threshold=1000,
        warning_threshold=500,
        window_seconds=600,
    )
    bench.send_items(_transactions(T0, [100.0] * 20), T0 + 30)
    bench.tick(T0 + 60)
    assert bench.messages() == []
    bench.send_items(_transactions(T0 + 120, [100.0] * 10 + [1500.0] * 10), T0 + 150)
    bench.tick(T0 + 180)
    [fired] = bench.messages()
    assert (fired["kind"], fired["action"], fired["level"]) == ("metric", "trigger", "fatal")
    assert fired["reason"] == "Critical: p95 of /checkout is 1500 (>= 1000)"
    bench.tick(T0 + 240)  # still critical: nothing new
    assert len(bench.messages()) == 1
    bench.tick(T0 + 800)  # the slow transactions have left the window: no data is ok
    resolved = bench.messages()[-1]
    assert (resolved["action"], resolved["level"]) == ("resolve", "info")
    assert resolved["reason"].startswith("Resolved: p95 of /checkout")


def test_failure_rate_warning(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule(
        "metric", metric="failure_rate", threshold=0.5, warning_threshold=0.2, window_seconds=600
    )
    bench.send_items(
        _transactions(T0, [50.0] * 7) + _transactions(T0 + 10, [50.0] * 3, "internal_error"),
        T0 + 20,
    )
    bench.tick(T0 + 30)
    [warning] = bench.messages()
    assert warning["level"] == "warning"
    assert warning["reason"] == "Warning: failure_rate of all transactions is 0.3 (>= 0.2)"


def test_a_digest_sends_one_message_per_period(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("new_issue", digest_seconds=600)
    bench.send([error_event(f"bug-{i}", T0) for i in range(3)], T0)
    assert bench.messages() == []
    assert [d for _, d in bench.firings()] == ["digest"] * 3
    bench.tick(T0 + 10)
    [digest] = bench.messages()
    assert digest["kind"] == "digest"
    assert sorted(i["title"] for i in digest["items"]) == [
        "KeyError: 'bug-0'",
        "KeyError: 'bug-1'",
        "KeyError: 'bug-2'",
    ]
    bench.send([error_event("bug-3", T0 + 20)], T0 + 20)
    bench.tick(T0 + 300)
    assert len(bench.messages()) == 1  # the period is not over
    bench.tick(T0 + 611)
    assert [len(m["items"]) for m in bench.messages()] == [3, 1]


def test_the_hourly_cap_suppresses_and_then_sums_up(db: Database) -> None:
    bench = AlertBench(db, hourly_cap=2)
    bench.rule("new_issue")
    hour = T0 - T0 % 3600
    bench.send([error_event(f"bug-{i}", hour + 10) for i in range(5)], hour + 10)
    assert len(bench.messages()) == 2
    assert [d for _, d in bench.firings()] == ["sent", "sent"] + ["suppressed"] * 3
    bench.tick(hour + 1800)  # the hour is not over
    assert len(bench.messages()) == 2
    bench.tick(hour + 3600)
    summary = bench.messages()[-1]
    assert (summary["kind"], summary["suppressed"]) == ("suppressed", 3)
    assert summary["title"] == "3 more alerts suppressed"
    bench.tick(hour + 3700)  # summed up once
    assert len(bench.messages()) == 3


def test_pagerduty_incidents_resolve_with_their_issue(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("new_issue", "pagerduty:R0UT1NGKEY", "webhook:https://hooks.test/a")
    bench.send([error_event("checkout", T0)], T0)
    [issue_id] = bench.issue_ids()
    assert [m["action"] for m in bench.messages()] == ["trigger", "trigger"]
    bench.tick(T0 + 60)
    assert len(bench.messages()) == 2  # still unresolved
    with db.write() as conn:
        queries.set_issue_status(conn, issue_id, IssueStatus.RESOLVED, T0 + 100, None)
    bench.tick(T0 + 120)
    resolve = bench.messages()[-1]
    assert (resolve["action"], resolve["issue_id"]) == ("resolve", issue_id)
    bench.tick(T0 + 180)
    assert len(bench.messages()) == 3  # only PagerDuty, only once


def test_rules_of_other_projects_stay_silent(db: Database) -> None:
    first, second = AlertBench(db), AlertBench(db)
    first.rule("new_issue")
    second.send([error_event("checkout", T0)], T0)
    assert first.messages() == second.messages() == []
    with db.read() as conn:
        assert conn.execute(select(events.c.id)).all()


def test_alert_history_follows_event_retention(db: Database) -> None:
    bench = AlertBench(db)
    bench.rule("new_issue")
    bench.send([error_event("old", T0)], T0)
    with db.write() as conn:  # delivered long ago
        [row] = alert_outbox.claim(conn, "node", T0, 60.0, 10)
        attempt = alert_outbox.Attempt(T0, 200, None, 0.1)
        assert alert_outbox.record_attempt(conn, row.id, "node", attempt, status="sent")
    later = T0 + 91 * 86400
    bench.send([error_event("new", later - 60)], later - 60)  # still to be sent
    bench.tick(later)
    assert [m["title"] for m in bench.messages()] == ["KeyError: 'new'"]
    assert [group for group, _ in bench.firings()] == bench.issue_ids()[-1:]
    with db.read() as conn:
        assert conn.execute(select(notification_attempts)).all() == []


def _edit(db: Database, rule_id: int, **changes: Any) -> None:
    """The rule as it is, with ``changes``: what a PUT of the rule's whole definition does."""
    with db.write() as conn:
        rule = alert_rules.get_rule(conn, rule_id)
        assert rule is not None
        alert_rules.update_rule(conn, rule_id, dataclasses.replace(rule.spec, **changes))


def test_turning_a_digest_off_sends_what_waited_in_it(db: Database) -> None:
    bench = AlertBench(db)
    rule_id = bench.rule("new_issue", digest_seconds=600)
    bench.send([error_event(f"bug-{i}", T0) for i in range(2)], T0)
    _edit(db, rule_id, digest_seconds=0)
    bench.tick(T0 + 10)
    [digest] = bench.messages()
    assert sorted(i["title"] for i in digest["items"]) == ["KeyError: 'bug-0'", "KeyError: 'bug-1'"]
    bench.tick(T0 + 20)
    assert len(bench.messages()) == 1  # sent once


def test_a_renamed_rule_still_resolves_its_pagerduty_incident(db: Database) -> None:
    bench = AlertBench(db)
    rule_id = bench.rule("new_issue", "pagerduty:R0UT1NGKEY")
    bench.send([error_event("checkout", T0)], T0)
    [issue_id] = bench.issue_ids()
    _edit(db, rule_id, name="Checkout broke")
    with db.write() as conn:
        queries.set_issue_status(conn, issue_id, IssueStatus.RESOLVED, T0 + 100, None)
    bench.tick(T0 + 120)
    assert [m["action"] for m in bench.messages()] == ["trigger", "resolve"]


def test_a_metric_rule_keeps_its_state_through_a_rename_not_a_new_threshold(db: Database) -> None:
    bench = AlertBench(db)
    rule_id = bench.rule("metric", metric="p95", transaction="/checkout", threshold=1000,
                         window_seconds=600)  # fmt: skip
    bench.send_items(_transactions(T0, [1500.0] * 10), T0 + 10)
    bench.tick(T0 + 20)
    assert len(bench.messages()) == 1
    _edit(db, rule_id, name="Slow checkout")
    bench.tick(T0 + 30)
    assert len(bench.messages()) == 1  # a steady state sends nothing
    _edit(db, rule_id, name="Slow checkout", threshold=1200.0)
    bench.tick(T0 + 40)
    assert len(bench.messages()) == 2  # judged again from ok

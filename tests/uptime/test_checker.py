"""Monitors against real loopback servers that go down, come back, answer slowly or wrongly:
issues open after the third failure in a row and resolve at the first success, at a moved
clock, on both engines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.uptime.bench import UptimeBench
from tests.uptime.servers import Reply, Site

from vedette.storage import uptime_queries
from vedette.storage.database import Database
from vedette.uptime import issues
from vedette.uptime.judge import ErrorClass
from vedette.uptime.probe import ProbeSettings, probe
from vedette.uptime.spec import MonitorSpec


@pytest.fixture
def bench(db: Database) -> Iterator[UptimeBench]:
    bench = UptimeBench(db)
    yield bench
    bench.close()


def test_an_outage_opens_an_issue_at_the_third_failure_and_recovery_resolves_it(
    bench: UptimeBench,
) -> None:
    bench.rule("new_issue")
    bench.rule("uptime")
    with Site() as site:
        monitor = bench.monitor(f"{site.url}/health", interval_seconds=60)
        assert bench.step() == 1
        assert bench.state(monitor).state == "up" and bench.issues() == []
        assert bench.step() == 0  # not due again within its interval
        site.go_down()
        bench.step(60)
        bench.step(60)
        assert bench.issues() == [] and bench.state(monitor).consecutive_failures == 2
        bench.step(60)
        [issue] = bench.issues()
        assert issue["title"] == f"Uptime: {site.url}/health is down"
        assert issue["status"] == "unresolved" and bench.state(monitor).state == "down"
        [opening] = bench.event_data(issue["id"])
        failures = opening["contexts"]["uptime"]["failures"]
        assert [f["error"] for f in failures] == ["connect"] * 3
        kinds = [(m["rule_name"], m["action"]) for m in bench.messages()]
        assert kinds == [("new_issue rule", "trigger"), ("uptime rule", "trigger")]
        bench.step(60)  # still down: one more event, no new alert
        assert bench.issues()[0]["times_seen"] == 2 and len(bench.messages()) == 2
        site.come_back()
        bench.step(60)
        assert bench.issues()[0]["status"] == "resolved"
        assert bench.state(monitor).state == "up" and bench.state(monitor).issue_id is None
        recovery = bench.messages()[-1]
        assert (recovery["rule_name"], recovery["action"]) == ("uptime rule", "resolve")
        assert recovery["reason"] == f"Recovered: {site.url}/health is up again"


def test_a_second_outage_reopens_the_issue_as_a_regression(bench: UptimeBench) -> None:
    bench.rule("regression")
    with Site(Reply(500)) as site:
        monitor = bench.monitor(site.url, interval_seconds=30, failure_threshold=1)
        bench.step()
        [first] = bench.issues()
        site.default = Reply(200)
        bench.step(30)
        assert bench.issues()[0]["status"] == "resolved"
        site.default = Reply(500)
        bench.step(30)
        assert [(i["id"], i["status"]) for i in bench.issues()] == [(first["id"], "unresolved")]
        assert [m["reason"] for m in bench.messages()][-1].startswith("Regressed")
        assert bench.state(monitor).issue_id == first["id"]
    with bench.db.write() as conn:  # a deleted monitor leaves no outage open for ever
        issues.delete_monitor(conn, bench.state(monitor), bench.clock.now)
    assert bench.issues()[0]["status"] == "resolved" and bench.checks(monitor) == []


@pytest.mark.parametrize(
    ("reply", "options", "error_class"),
    [
        (Reply(503, b"busy"), {}, "status"),
        (Reply(200, b"maintenance"), {"body_contains": "ok"}, "body"),
        (Reply(302, headers={"Location": "/elsewhere"}), {"follow_redirects": False}, "status"),
        (Reply(200, hang=30), {"timeout_ms": 200}, "timeout"),
        # Only the first 64 KiB of an answer are read: text past them is not found.
        (Reply(200, b"x" * 100_000 + b"ok"), {"body_contains": "ok"}, "body"),
    ],
)
def test_wrong_answers_and_slow_ones_are_failures_of_their_class(
    bench: UptimeBench, reply: Reply, options: dict[str, object], error_class: str
) -> None:
    with Site(reply) as site:
        monitor = bench.monitor(site.url, failure_threshold=1, **options)
        bench.step()
        [check] = bench.checks(monitor)
        assert (check.ok, check.error_class) == (False, error_class)
        assert bench.issues()[0]["status"] == "unresolved"


def test_redirects_are_followed_when_asked_and_requests_say_who_they_are(
    bench: UptimeBench,
) -> None:
    with Site() as site:
        site.script(Reply(301, headers={"Location": "/new"}))
        monitor = bench.monitor(
            f"{site.url}/old", method="POST", body="ping", headers=(("X-Check", "1"),)
        )
        bench.step()
        [check] = bench.checks(monitor)
        assert (check.ok, check.status_code) == (True, 200)
        assert [(r.method, r.path) for r in site.requests] == [("POST", "/old"), ("GET", "/new")]
        first = site.requests[0]
        assert first.headers["user-agent"].startswith("Vedette")
        assert (first.headers["x-check"], first.body) == ("1", b"ping")


def test_private_addresses_are_refused_unless_the_operator_allows_them(db: Database) -> None:
    bench = UptimeBench(db, allow_private=False)
    with Site() as site:
        monitor = bench.monitor(site.url)
        bench.step()
        [check] = bench.checks(monitor)
        assert (check.ok, check.error_class) == (False, "refused")
        assert site.requests == []
    bench.close()


def test_results_roll_up_per_hour_and_day(bench: UptimeBench) -> None:
    with Site() as site:
        monitor = bench.monitor(site.url, interval_seconds=60)
        bench.step()
        site.default = Reply(500)
        bench.step(60)
        with bench.db.read() as conn:
            [day] = uptime_queries.daily(conn, [monitor], bench.clock.now - 86400)[monitor]
        assert (day.checks, day.failures) == (2, 1)


def test_a_name_that_does_not_resolve_is_a_dns_failure() -> None:
    spec = MonitorSpec(name="nowhere", url="http://uptime-check.invalid/health")  # RFC 6761
    response = probe(spec, ProbeSettings())
    assert (response.error_class, response.status_code) == (ErrorClass.DNS, None)
    assert response.error is not None and "uptime-check.invalid" in response.error


# --- the probe's bounds: one deadline, headers for their origin only, bytes as sent --------------

LOCAL = ProbeSettings(allow_private=True)


def test_an_answer_trickled_within_each_read_timeout_still_times_out() -> None:
    """One byte of a header every 0.1 s: each read is quick, the whole answer takes 5 s."""
    with Site(Reply(200, trickle=0.1)) as site:
        response = probe(MonitorSpec(name="slow", url=site.url, timeout_ms=400), LOCAL)
    assert (response.error_class, response.status_code) == (ErrorClass.TIMEOUT, None)
    assert response.latency_ms < 3000


def test_the_timeout_covers_every_redirect_together() -> None:
    """Four hops of 0.15 s each: every one is within 0.4 s, all of them are not."""
    with Site() as site:
        site.script(*(Reply(302, headers={"Location": f"/{n}"}, hang=0.15) for n in range(4)))
        response = probe(MonitorSpec(name="hops", url=site.url, timeout_ms=400), LOCAL)
    assert response.error_class == ErrorClass.TIMEOUT


def test_the_monitor_headers_go_only_to_the_origin_of_its_url() -> None:
    """Credentials given for the monitored site are not handed to wherever it redirects."""
    secrets = (("Authorization", "Bearer s3cret"), ("Cookie", "session=abc"))
    with Site() as elsewhere, Site() as site:
        site.script(Reply(302, headers={"Location": "/moved"}),
                    Reply(302, headers={"Location": f"{elsewhere.url}/landing"}))  # fmt: skip
        spec = MonitorSpec(name="moved", url=f"{site.url}/start", headers=secrets)
        response = probe(spec, LOCAL)
    assert (response.error_class, response.status_code) == (None, 200)
    start, moved = site.requests
    assert start.headers["authorization"] == moved.headers["authorization"] == "Bearer s3cret"
    (landing,) = elsewhere.requests
    assert landing.path == "/landing"
    assert "authorization" not in landing.headers and "cookie" not in landing.headers


def test_body_contains_reads_the_page_as_a_browser_would_see_it() -> None:
    """The probe asks for the body uncompressed: searching gzip's bytes would never match."""
    with Site(Reply(200, b"status: healthy", gzip=True)) as site:
        spec = MonitorSpec(name="gzip", url=site.url, body_contains="healthy")
        response = probe(spec, LOCAL)
        sent = site.requests[0].headers["accept-encoding"]
    assert (response.status_code, response.body) == (200, b"status: healthy")
    assert sent == "identity"

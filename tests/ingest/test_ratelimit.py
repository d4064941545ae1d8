"""Quota maths (pure) for the per-project event limit, and the spool-full gauge."""

from __future__ import annotations

import pytest

from vedette.ingest.ratelimit import ProjectQuota, Refusal, SpoolGauge, limited_items

T0 = 1_800_000_000.0  # a minute boundary (divisible by 60)


def test_unlimited_by_default() -> None:
    quota = ProjectQuota(0)
    assert all(quota.admit(1, 1, T0 + i) is None for i in range(1000))


def test_refuses_past_the_quota_until_the_window_ends() -> None:
    quota = ProjectQuota(3)
    assert [quota.admit(1, 1, T0 + 10) for _ in range(3)] == [None, None, None]
    refusal = quota.admit(1, 1, T0 + 10)
    assert refusal == Refusal(50, ("error", "default", "transaction", "security"))
    assert refusal.header() == "50:error;default;transaction;security:project"
    assert quota.admit(1, 1, T0 + 60) is None  # next window


def test_projects_do_not_share_a_quota() -> None:
    quota = ProjectQuota(1)
    assert quota.admit(1, 1, T0) is None
    assert quota.admit(2, 1, T0) is None
    assert quota.admit(1, 1, T0) is not None


def test_an_envelope_is_admitted_whole_or_not_at_all() -> None:
    quota = ProjectQuota(2)
    assert quota.admit(1, 3, T0) is not None
    assert quota.admit(1, 2, T0) is None


def test_only_event_like_items_count() -> None:
    assert limited_items(["event", "attachment", "session", "transaction", "client_report"]) == 2


def test_the_spool_gauge_counts_its_own_appends_between_measurements() -> None:
    gauge = SpoolGauge(limit=5)
    for _ in range(4):
        gauge.appended()
    assert gauge.refusal() is None
    gauge.appended()  # the fifth: refused from the next request on, not a measurement later
    assert gauge.refusal() == Refusal(60, ())
    assert gauge.next_measure_seconds() == SpoolGauge.MEASURE_WHILE_FULL_SECONDS


@pytest.mark.parametrize(
    ("measured", "appended_during", "appended_after", "depth"),
    [
        (0, 0, 0, 0),  # the worker drained everything, nothing new
        (3, 0, 1, 4),  # one append after the measurement
        (3, 2, 0, 5),  # appends during it may be counted twice until the next one...
        (3, 2, 1, 6),
    ],
)
def test_a_measurement_replaces_what_it_covers(
    measured: int, appended_during: int, appended_after: int, depth: int
) -> None:
    gauge = SpoolGauge(limit=0)
    for _ in range(7):
        gauge.appended()  # before the measurement: counted in it
    before = gauge.appended_so_far()
    gauge.appended(appended_during)
    gauge.measured(measured, before)
    gauge.appended(appended_after)
    assert gauge.depth == depth
    assert gauge.refusal() is None  # no limit: never full


def test_a_drained_spool_is_open_again_at_the_next_measurement() -> None:
    gauge = SpoolGauge(limit=2)
    gauge.measured(2, gauge.appended_so_far())
    assert gauge.refusal() is not None
    gauge.measured(0, gauge.appended_so_far())
    assert gauge.refusal() is None
    assert gauge.next_measure_seconds() == SpoolGauge.MEASURE_SECONDS

"""Quota maths (pure) for the per-project event limit."""

from __future__ import annotations

from vedette.ingest.ratelimit import ProjectQuota, Refusal, limited_items

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

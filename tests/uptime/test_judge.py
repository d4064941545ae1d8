"""The pure decisions, as tables: what a response means, the down / up state machine, the
schedule's phase and the certificate warning."""

from __future__ import annotations

import pytest

from vedette.uptime.judge import (
    ErrorClass,
    Response,
    Standing,
    State,
    Transition,
    advance,
    certificate_warning,
    judge,
    next_due,
    phase,
)
from vedette.uptime.spec import MonitorSpec

SPEC = MonitorSpec(name="shop", url="https://shop.example/health", body_contains="ok")


@pytest.mark.parametrize(
    ("response", "ok", "error_class"),
    [
        (Response(5.0, 200, b"all ok"), True, None),
        (Response(5.0, 299, b"ok"), True, None),
        (Response(5.0, 300, b"ok"), False, ErrorClass.STATUS),
        (Response(5.0, 503, b"ok"), False, ErrorClass.STATUS),
        (Response(5.0, 200, b"maintenance"), False, ErrorClass.BODY),
        (Response(5.0, error_class=ErrorClass.DNS, error="no such host"), False, ErrorClass.DNS),
        (Response(5.0, error_class=ErrorClass.TIMEOUT), False, ErrorClass.TIMEOUT),
        (Response(5.0, error_class=ErrorClass.TLS), False, ErrorClass.TLS),
    ],
)
def test_a_response_is_judged_by_status_range_then_body(
    response: Response, ok: bool, error_class: ErrorClass | None
) -> None:
    verdict = judge(SPEC, response)
    assert (verdict.ok, verdict.error_class) == (ok, error_class)


def test_a_custom_status_range_accepts_redirects_not_followed() -> None:
    spec = MonitorSpec(name="r", url="http://x.example/", status_min=300, status_max=399)
    assert judge(spec, Response(1.0, 302)).ok
    assert not judge(spec, Response(1.0, 200)).ok


P, U, D = State.PENDING, State.UP, State.DOWN


@pytest.mark.parametrize(
    ("before", "ok", "after", "transition"),
    [
        (Standing(P, 0), True, Standing(U, 0), Transition.NONE),
        (Standing(P, 0), False, Standing(P, 1), Transition.NONE),
        (Standing(U, 1), False, Standing(U, 2), Transition.NONE),
        (Standing(U, 2), False, Standing(D, 3), Transition.WENT_DOWN),
        (Standing(P, 2), False, Standing(D, 3), Transition.WENT_DOWN),
        (Standing(D, 3), False, Standing(D, 4), Transition.STILL_DOWN),
        (Standing(D, 9), True, Standing(U, 0), Transition.RECOVERED),
        (Standing(U, 2), True, Standing(U, 0), Transition.NONE),  # a blip is no outage
    ],
)
def test_three_failures_in_a_row_go_down_and_one_success_recovers(
    before: Standing, ok: bool, after: Standing, transition: Transition
) -> None:
    assert advance(before, ok, threshold=3) == (after, transition)


def test_a_threshold_of_one_goes_down_at_the_first_failure() -> None:
    assert advance(Standing(U, 0), False, threshold=1) == (Standing(D, 1), Transition.WENT_DOWN)


@pytest.mark.parametrize(
    ("now", "interval", "offset", "due"),
    [(100.0, 60, 10, 130.0), (130.0, 60, 10, 190.0), (129.9, 60, 10, 130.0), (0.0, 30, 0, 30.0)],
)
def test_the_next_run_keeps_the_monitors_phase(
    now: float, interval: int, offset: int, due: float
) -> None:
    assert next_due(now, interval, offset) == due


def test_phases_spread_monitors_over_their_interval_and_stay_put() -> None:
    offsets = {phase(monitor_id, 60) for monitor_id in range(1, 41)}
    assert len(offsets) > 20 and all(0 <= o < 60 for o in offsets)
    assert phase(7, 60) == phase(7, 60)


@pytest.mark.parametrize(
    ("expires_in_days", "warn"), [(-1, True), (1, True), (13.9, True), (14.1, False), (90, False)]
)
def test_certificates_expiring_within_two_weeks_warn(expires_in_days: float, warn: bool) -> None:
    now = 1_900_000_000.0
    assert certificate_warning(now + expires_in_days * 86400, now) is warn
    assert certificate_warning(None, now) is False

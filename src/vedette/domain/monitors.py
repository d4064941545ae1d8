"""Cron monitors: check-ins, monitor configuration and the scheduler (a pure function).

A monitor expects its next check-in at the schedule's next tick after its last check-in, and
at the latest ``checkin_margin`` minutes after that; past it the tick is ``missed``. A check-in
left ``in_progress`` for more than ``max_runtime`` minutes is ``timeout``. Both are found by
``plan(monitors, open_check_ins, now)``, which a periodic job runs even when nothing arrives
(tests move ``now`` instead of sleeping).
"""

from __future__ import annotations

from dataclasses import dataclass

from vedette.domain.schedule import Schedule

# Sentry's defaults (minutes).
DEFAULT_CHECKIN_MARGIN = 1
DEFAULT_MAX_RUNTIME = 30
CHECKIN_STATUSES = ("in_progress", "ok", "error", "missed", "timeout")
FINISHED = frozenset({"ok", "error", "missed", "timeout"})
# Missed ticks recorded per monitor and run; a monitor silent for longer than this many ticks
# gets the latest ones (an every-minute job silent for a month must not write 43,200 rows).
MAX_MISSED_PER_RUN = 60
NIL_CHECK_IN_ID = "0" * 32


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    schedule: Schedule
    checkin_margin: int = DEFAULT_CHECKIN_MARGIN
    max_runtime: int = DEFAULT_MAX_RUNTIME
    failure_issue_threshold: int | None = None
    recovery_threshold: int | None = None


@dataclass(frozen=True, slots=True)
class CheckIn:
    slug: str
    check_in_id: str | None  # None: a new check-in; NIL_CHECK_IN_ID: the latest in progress
    status: str
    duration_ms: float | None
    environment: str | None
    release: str | None
    trace_id: str | None
    received: float
    config: MonitorConfig | None


@dataclass(frozen=True, slots=True)
class MonitorState:
    id: int
    schedule: Schedule | None
    checkin_margin: int
    next_checkin: float | None  # the tick expected next


@dataclass(frozen=True, slots=True)
class OpenCheckIn:
    id: int
    monitor_id: int
    date_added: float
    max_runtime: int


@dataclass(frozen=True, slots=True)
class Missed:
    monitor_id: int
    expected: float  # the tick that passed without a check-in


@dataclass(frozen=True, slots=True)
class TimedOut:
    check_in_id: int
    monitor_id: int


@dataclass(frozen=True, slots=True)
class Advance:
    monitor_id: int
    next_checkin: float | None


@dataclass(frozen=True, slots=True)
class Plan:
    missed: list[Missed]
    timed_out: list[TimedOut]
    advances: list[Advance]


def latest_time(next_checkin: float, margin_minutes: int) -> float:
    """When a tick counts as missed (Sentry: the margin is at least one minute)."""
    return next_checkin + max(1, margin_minutes) * 60.0


def plan(monitors: list[MonitorState], open_check_ins: list[OpenCheckIn], now: float) -> Plan:
    missed: list[Missed] = []
    advances: list[Advance] = []
    for monitor in monitors:
        if monitor.schedule is None or monitor.next_checkin is None:
            continue
        tick: float | None = monitor.next_checkin
        passed: list[float] = []
        while tick is not None and latest_time(tick, monitor.checkin_margin) <= now:
            passed.append(tick)
            tick = monitor.schedule.next_tick(tick)
        if passed:
            missed.extend(Missed(monitor.id, t) for t in passed[-MAX_MISSED_PER_RUN:])
            advances.append(Advance(monitor.id, tick))
    timed_out = [
        TimedOut(c.id, c.monitor_id)
        for c in open_check_ins
        if c.date_added + max(1, c.max_runtime) * 60.0 <= now
    ]
    return Plan(missed, timed_out, advances)

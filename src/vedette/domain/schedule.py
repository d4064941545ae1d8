"""When a cron monitor expects its next check-in: crontab and interval schedules.

Five-field crontab (minute hour day-of-month month day-of-week) with ``*``, lists, ranges,
steps, month and weekday names and the ``@daily``-style macros, evaluated in the monitor's
timezone; day-of-month and day-of-week restricted together match either (Vixie cron). As in
Sentry, the reference time is floored to its minute and the next tick is strictly after it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {n.lower(): i for i, n in enumerate(calendar.month_abbr) if n}
_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_FIELD = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")
INTERVAL_UNITS = ("minute", "hour", "day", "week", "month", "year")
# The longest a unit lasts, and the longest interval: its next tick must stay a date.
_UNIT_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7, "month": 31, "year": 366}
MAX_INTERVAL_DAYS = 100 * 366
# A schedule that matches nothing (e.g. 30 February) must not spin forever.
_MAX_DAYS = 366 * 8


class InvalidSchedule(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Crontab:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week


def _value(text: str, names: dict[str, int]) -> int:
    if text.isdigit():
        return int(text)
    if text in names:
        return names[text]
    raise InvalidSchedule(f"not a number or name: {text}")


def _field(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        found = _FIELD.match(part)
        if found is None:
            raise InvalidSchedule(f"invalid crontab field: {text}")
        span, step_text = found.group(1), found.group(2)
        step = int(step_text) if step_text else 1
        if step < 1:
            raise InvalidSchedule("step must be positive")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, b = span.split("-", 1)
            first, last = _value(a, names), _value(b, names)
        else:
            first = _value(span, names)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high) or first > last:
            raise InvalidSchedule(f"crontab value out of range: {text}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def parse_crontab(expression: str) -> Crontab:
    text = _MACROS.get(expression.strip().lower(), expression.strip())
    fields = text.split()
    if len(fields) != 5:
        raise InvalidSchedule("a crontab has five fields")
    weekdays = _field(fields[4], 0, 7, _DAYS)  # 0 and 7 are both Sunday
    return Crontab(
        minutes=_field(fields[0], 0, 59, {}),
        hours=_field(fields[1], 0, 23, {}),
        days=_field(fields[2], 1, 31, {}),
        months=_field(fields[3], 1, 12, _MONTHS),
        weekdays=frozenset(d % 7 for d in weekdays),
        days_restricted=fields[2] != "*",
        weekdays_restricted=fields[4] != "*",
    )


def timezone_of(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def next_crontab_tick(cron: Crontab, after: float, tz: tzinfo) -> float | None:
    """The first tick strictly after ``after`` (floored to its minute), as unix seconds."""
    reference = after - after % 60
    local = datetime.fromtimestamp(reference, tz).replace(tzinfo=None)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(_MAX_DAYS):
        if cron.matches_day(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    naive = day.replace(hour=hour, minute=minute)
                    if naive <= local:
                        continue
                    stamp = naive.replace(tzinfo=tz).timestamp()
                    if stamp > reference:
                        return stamp
        day += timedelta(days=1)
    return None


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def next_interval_tick(value: int, unit: str, after: float) -> float:
    reference = datetime.fromtimestamp(after - after % 60, UTC)
    if unit == "minute":
        moment = reference + timedelta(minutes=value)
    elif unit == "hour":
        moment = reference + timedelta(hours=value)
    elif unit == "day":
        moment = reference + timedelta(days=value)
    elif unit == "week":
        moment = reference + timedelta(weeks=value)
    elif unit == "month":
        moment = _add_months(reference, value)
    elif unit == "year":
        moment = _add_months(reference, 12 * value)
    else:
        raise InvalidSchedule(f"unknown interval unit {unit}")
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class Schedule:
    """``crontab`` with ``value`` the expression, or ``interval`` with ``value`` + ``unit``."""

    type: str
    value: str
    unit: str | None = None
    timezone: str = "UTC"

    def validate(self) -> None:
        if self.type == "crontab":
            parse_crontab(self.value)
        elif self.type == "interval":
            if not self.value.isdigit() or len(self.value) > 9 or int(self.value) < 1:
                raise InvalidSchedule("interval must be a positive integer")
            if self.unit not in INTERVAL_UNITS:
                raise InvalidSchedule(f"interval unit must be one of {INTERVAL_UNITS}")
            if int(self.value) * _UNIT_DAYS[self.unit] > MAX_INTERVAL_DAYS:
                raise InvalidSchedule("interval must be at most 100 years")
        else:
            raise InvalidSchedule("schedule type must be crontab or interval")

    def next_tick(self, after: float) -> float | None:
        if self.type == "crontab":
            return next_crontab_tick(parse_crontab(self.value), after, timezone_of(self.timezone))
        return next_interval_tick(int(self.value), self.unit or "minute", after)

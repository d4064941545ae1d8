"""Sentry's ignore options in an issue PUT: ``{"status": "ignored", "statusDetails": {...}}``
with ``ignoreDuration`` (minutes), ``ignoreUntil`` (a date), ``ignoreCount`` (more events) or
``ignoreUserCount`` (more users); none of them: ignored forever."""

from __future__ import annotations

from typing import Any

from vedette.api.http import ApiError
from vedette.api.performance import parse_api_time
from vedette.storage.snoozes import Snooze

_COUNTS = ("ignoreDuration", "ignoreCount", "ignoreUserCount")


def snooze_from_details(details: object, now: float) -> Snooze:
    if details is None:
        return Snooze()
    if not isinstance(details, dict):
        raise ApiError(400, "statusDetails must be an object")
    values = {key: _positive(details, key) for key in _COUNTS}
    seconds = None if values["ignoreDuration"] is None else values["ignoreDuration"] * 60.0
    until = details.get("ignoreUntil")
    if until is not None:
        at = parse_api_time(str(until))
        if at is None or at <= now:
            raise ApiError(400, "ignoreUntil must be a date in the future")
        seconds = at - now
    return Snooze(
        seconds=seconds,
        more_events=None if values["ignoreCount"] is None else int(values["ignoreCount"]),
        more_users=None if values["ignoreUserCount"] is None else int(values["ignoreUserCount"]),
    )


def _positive(details: dict[str, Any], key: str) -> float | None:
    value = details.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ApiError(400, f"{key} must be a positive number")
    return float(value)

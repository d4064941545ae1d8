"""``check_in`` items -> validated check-ins with their optional monitor upsert.

See docs/protocol.md, "Cron check-ins".

Lenient like Relay: a broken ``monitor_config`` is dropped (the check-in still counts), an
unknown status or a missing slug makes the item invalid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from vedette.domain.monitors import (
    DEFAULT_CHECKIN_MARGIN,
    DEFAULT_MAX_RUNTIME,
    CheckIn,
    MonitorConfig,
)
from vedette.domain.schedule import InvalidSchedule, Schedule, valid_timezone
from vedette.processing.coerce import finite_float, hex_id, lenient_str

_SLUG_CHARS = re.compile(r"[^a-z0-9_-]+")
MAX_SLUG = 50
_MAX_MINUTES = 40_320  # 28 days, Sentry's cap on margin and runtime
_MAX_THRESHOLD = 720


class InvalidCheckIn(ValueError):
    pass


def slugify(value: str) -> str:
    return _SLUG_CHARS.sub("-", value.strip().lower()).strip("-")[:MAX_SLUG]


def _minutes(value: object, default: int) -> int:
    number = finite_float(value)
    if number is None or number < 0:
        return default
    return min(int(number), _MAX_MINUTES)


def _threshold(value: object) -> int | None:
    """Consecutive check-ins, 1 to 720 as in Sentry; anything else is not set."""
    number = finite_float(value)
    return None if number is None or not 1 <= number <= _MAX_THRESHOLD else int(number)


def parse_monitor_config(value: object) -> MonitorConfig | None:
    if not isinstance(value, Mapping):
        return None
    schedule = value.get("schedule")
    if not isinstance(schedule, Mapping):
        return None
    kind = lenient_str(schedule.get("type")) or ""
    raw_value = schedule.get("value")
    if kind == "interval":
        number = finite_float(raw_value)
        text = str(int(number)) if number is not None and number == int(number) else ""
    else:
        text = (lenient_str(raw_value) or "").strip()[:200]
    timezone = lenient_str(value.get("timezone")) or "UTC"
    if not valid_timezone(timezone):
        timezone = "UTC"
    unit = lenient_str(schedule.get("unit"))
    parsed = Schedule(kind, text, unit.lower() if unit else None, timezone)
    try:
        parsed.validate()
    except InvalidSchedule:
        return None
    return MonitorConfig(
        schedule=parsed,
        checkin_margin=_minutes(value.get("checkin_margin"), DEFAULT_CHECKIN_MARGIN),
        max_runtime=_minutes(value.get("max_runtime"), DEFAULT_MAX_RUNTIME),
        failure_issue_threshold=_threshold(value.get("failure_issue_threshold")),
        recovery_threshold=_threshold(value.get("recovery_threshold")),
    )


def parse_check_in(payload: Mapping[str, Any], received: float) -> CheckIn:
    slug = slugify(lenient_str(payload.get("monitor_slug")) or "")
    if not slug:
        raise InvalidCheckIn("missing monitor_slug")
    status = (lenient_str(payload.get("status")) or "").lower()
    if status not in ("in_progress", "ok", "error"):
        raise InvalidCheckIn("status must be in_progress, ok or error")
    raw_id = payload.get("check_in_id")
    check_in_id = hex_id(raw_id.replace("-", "") if isinstance(raw_id, str) else None, 32)
    duration = finite_float(payload.get("duration"))
    contexts = payload.get("contexts")
    trace = contexts.get("trace") if isinstance(contexts, Mapping) else None
    trace_id = hex_id(trace.get("trace_id"), 32) if isinstance(trace, Mapping) else None
    return CheckIn(
        slug=slug,
        check_in_id=check_in_id,
        status=status,
        duration_ms=duration * 1000.0 if duration is not None and duration >= 0 else None,
        environment=(lenient_str(payload.get("environment")) or "production")[:64],
        release=(lenient_str(payload.get("release")) or "")[:200] or None,
        trace_id=trace_id,
        received=received,
        config=parse_monitor_config(payload.get("monitor_config")),
    )

"""Timestamps as SDKs send them: Unix seconds or RFC 3339 strings.

See docs/protocol.md, "Timestamps".
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

# Year 1970 .. 9999: anything outside is garbage, not a time.
_MAX_SECONDS = 253402300799.0
# RFC 3339 allows any number of fractional digits; datetime takes at most six.
_FRACTION = re.compile(r"(\.\d{6})\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def parse_timestamp(value: object) -> float | None:
    """Unix seconds from a number or an RFC 3339 / ISO 8601 string; None for anything else.

    Strings without a zone are UTC (Relay's rule); ``Z`` and ``±hh:mm`` offsets are honoured.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _seconds(float(value)) if 0 <= value <= _MAX_SECONDS else None
    if isinstance(value, float):
        return _seconds(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if ":" not in text and _NUMBER.fullmatch(text):  # a time of day is no number
        try:
            return _seconds(float(text))
        except (ValueError, OverflowError):  # pragma: no cover - float() saturates to inf
            return None
    return _parse_iso(text)


def _seconds(value: float) -> float | None:
    if not math.isfinite(value) or not 0.0 <= value <= _MAX_SECONDS:
        return None
    return value


def _parse_iso(text: str) -> float | None:
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    excess = _FRACTION.search(text)
    if excess is not None:  # (``_FRACTION.sub`` costs 3 µs even when nothing matches)
        text = f"{text[: excess.start()]}{excess.group(1)}{text[excess.end() :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return _seconds(parsed.timestamp())
    except (OverflowError, ValueError, OSError):
        return None


def format_timestamp(value: float) -> str:
    """RFC 3339 with microseconds and ``Z``, for error details."""
    return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")

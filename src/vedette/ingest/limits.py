"""Per-item size caps (docs/protocol.md, "Size limits").

An item over its cap gets the whole envelope a 413.
"""

from __future__ import annotations

from collections.abc import Callable

KIB = 1024
MIB = 1024 * KIB

_EVENT_ITEMS = frozenset({"event", "transaction", "feedback", "user_report"})
_FIXED: dict[str, int] = {
    "check_in": 100 * KIB,
    "client_report": 100 * KIB,
    "session": 1 * MIB,
    "sessions": 10 * MIB,
    "profile": 50 * MIB,
    "replay_recording": 100 * MIB,
}
_CONTAINER = 12 * MIB


def item_limits(max_event_bytes: int, max_attachment_bytes: int) -> Callable[[str], int]:
    def limit(item_type: str) -> int:
        if item_type in _EVENT_ITEMS:
            return max_event_bytes
        if item_type == "attachment":
            return max_attachment_bytes
        return _FIXED.get(item_type, _CONTAINER)

    return limit

"""The issue page's ignore options, Sentry's presets."""

from __future__ import annotations

from vedette.storage.snoozes import Snooze

# The issue page's ignore options: (form value, label, snooze).
SNOOZES: list[tuple[str, str, Snooze]] = [
    ("forever", "forever", Snooze()),
    ("1h", "for an hour", Snooze(seconds=3600)),
    ("24h", "for a day", Snooze(seconds=86400)),
    ("7d", "for a week", Snooze(seconds=7 * 86400)),
    ("100e", "until 100 more events", Snooze(more_events=100)),
    ("1000e", "until 1,000 more events", Snooze(more_events=1000)),
    ("10u", "until 10 more users", Snooze(more_users=10)),
]

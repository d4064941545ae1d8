"""Time as a test may move it, where a test would otherwise sleep until time passes: the end of
a rate-limit window, the expiry of a crashed worker's spool lease.

In production the shift is always 0 and nothing is read. With ``VEDETTE_TEST_CLOCK_FILE`` set
(tests only), the shift is the number of seconds written in that file, read again each time
(a few microseconds), so a test moves the server's time by rewriting the file: e.g. to the
start of a rate-limit minute, or a lease's length ahead after killing a worker. A missing or
empty file is 0. Writers replace the file whole (write a new file, then rename it over), so a
reader never sees half a number. Only these two readers add the shift: event timestamps,
retention and the web UI keep the system clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ClockShift = Callable[[], float]


def no_shift() -> float:
    return 0.0


@dataclass(frozen=True, slots=True)
class FileShift:
    """The seconds written in ``path`` (0 when it is missing or empty)."""

    path: Path

    def __call__(self) -> float:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return 0.0
        return float(text) if text else 0.0


def clock_shift(path: Path | None) -> ClockShift:
    """The shift of ``VEDETTE_TEST_CLOCK_FILE``: none when it is unset."""
    return no_shift if path is None else FileShift(path)

"""Sentry-compatible grouping: which issue an error event belongs to (docs/protocol.md, "Grouping").

``compute_grouping(event)`` returns the hashes of one versioned strategy, preferred first. The
default strategy reproduces Sentry's ``newstyle:2023-01-11`` for Python, Node/JavaScript, Ruby,
PHP, Java and security reports, so most hashes equal Sentry's for the same event:

1. a legacy ``checksum``; else the SDK ``fingerprint`` with variables (``{{ default }}`` salts the
   default hashes; exactly ``["{{ default }}"]`` is default grouping); else built-in fingerprint
   rules (JavaScript ``ChunkLoadError``, hydration errors);
2. default grouping, first contributing interface wins: exceptions (every exception of a chain:
   stack trace, type unless synthetic, parameterised value only without frames; exception groups
   reduced to their distinct children), a single or crashed thread, a top-level stack trace,
   a template, a security report, the message template (parameterised);
3. nothing usable: ``md5("")``.

Stack traces give an ``app`` hash (in-app frames only) and a ``system`` hash (all frames); both
are returned, app first. Deliberate differences from Sentry: no native (C/C++/Cocoa) frame
categorisation, a frameless exception also contributes to the system hash, and IPv6
parameterisation never starts inside a word. Pure: standard library and ``vedette.domain`` only
(plus bounded memos of per-stack work, ``vedette.processing.memo``, which change no result).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vedette.domain.events import Grouping
from vedette.processing.grouping.strategies import STRATEGIES, Strategy

__all__ = ["DEFAULT_STRATEGY", "STRATEGIES", "Strategy", "compute_grouping"]

DEFAULT_STRATEGY = "vedette:2026-11"


def compute_grouping(event: Mapping[str, Any], strategy: str = DEFAULT_STRATEGY) -> Grouping:
    """The grouping hashes of ``event`` under ``strategy`` (unknown id: ``ValueError``)."""
    try:
        group = STRATEGIES[strategy]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise ValueError(f"unknown grouping strategy {strategy!r} (known: {known})") from None
    return Grouping(strategy=strategy, hashes=group(event if isinstance(event, Mapping) else {}))

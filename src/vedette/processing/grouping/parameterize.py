"""Parameterisation of messages and exception values before hashing.

See docs/protocol.md, "Parameterisation".

Event-specific values (ids, numbers, dates, addresses) are replaced by ``<placeholders>`` so that
``"Order 1234 failed"`` and ``"Order 1235 failed"`` land in one issue. The patterns and their
priority follow Sentry's current list (email, url, hostname, ip, traceparent, uuid, sha1, md5,
date, duration, hex, float, int, quoted_str, bool): keeping the same placeholders keeps our hashes
equal to Sentry's for the same input. The table is data of a versioned strategy: never edit it in
place once released; add a new table for a new strategy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import islice

from vedette.processing.memo import memoize_bytes

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY = r"(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)"
_ZONE = r"(?:[-+]\d{2}[0-5]\d|UT|GMT|[ECMP][SD]T|[A-IK-Z])"
_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
_H16 = r"[0-9a-fA-F]{1,4}"
_TLDS = (
    "com|net|org|jp|de|uk|fr|br|it|ru|es|me|gov|pl|ca|au|cn|co|in|nl|edu|info|eu|ch|id|at|kr|cz|"
    "mx|be|tv|se|tr|tw|al|ua|ir|vn|cl|sk|ly|cc|to|no|fi|us|pt|dk|ar|hu|tk|gr|il|news|ro|my|biz|ie|"
    "za|nz|sg|ee|th|io|xyz|pe|bg|hk|rs|lt|link|ph|club|si|site|mobi|by|cat|wiki|la|ga|xxx|cf|hr|ng|"
    "jobs|online|kz|ug|gq|ae|is|lv|pro|fm|tips|ms|sa|app"
)

# (placeholder name, pattern) in priority order: at any position the first pattern that matches
# wins, so e.g. a uuid is never broken into <int>s.
PATTERNS: Sequence[tuple[str, str]] = (
    ("email", r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*"),
    ("url", r"\b(?:wss?|https?|ftp)://[^\s/$.?#].[^\s]*"),
    ("hostname", rf"\b(?:[a-zA-Z0-9-]{{1,63}}\.)+?(?:{_TLDS}|{_TLDS.upper()})\b"),
    (
        "ip",
        # IPv6 must not start inside a word: Sentry's pattern turns "Module::Class" into
        # "Modul<ip>lass"; ours leaves it alone (a deliberate difference).
        rf"(?<![\w:])(?:"
        rf"(?:{_H16}:){{7}}{_H16}"
        rf"|(?:{_H16}:){{1,7}}:(?!{_H16})"
        rf"|(?:{_H16}:){{1,6}}(?::{_H16}){{1,6}}"
        rf"|::(?:ffff(?::0{{1,4}})?:)?{_IPV4}\b"
        rf"|::{_H16}(?::{_H16}){{0,6}}"
        rf")|\b{_IPV4}\b",
    ),
    ("traceparent", r"\b00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]\b"),
    ("uuid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("sha1", r"\b[0-9a-fA-F]{40}\b"),
    ("md5", r"\b[0-9a-fA-F]{32}\b"),
    (
        "date",
        # RFC 822/1123: "Mon, 02 Jan 2006 15:04:05 -0700"
        rf"{_DAY},\s\d{{1,2}}\s{_MONTH}\s\d{{2,4}}\s\d{{1,2}}:\d{{1,2}}(?::\d{{1,2}})?\s{_ZONE}"
        # "Mon Jan 02, 1999" / "Jan 02, 1999"
        rf"|(?:{_DAY}\s)?{_MONTH}\s[0-3]\d,\s\d{{2,4}}"
        # RFC 850: "Monday, 02-Jan-06 15:04:05 MST"
        rf"|(?:Sun|Mon|Tues|Wednes|Thurs|Fri|Satur)day,\s\d{{2}}-{_MONTH}-\d{{2}}"
        rf"\s\d{{2}}:\d{{2}}:\d{{2}}\s{_ZONE}"
        # ctime: "Mon Jan  2 15:04:05 2006"
        rf"|\b(?:{_DAY}\s+)?{_MONTH}\s+\d{{1,2}}\s+\d{{2}}:\d{{2}}:\d{{2}}\s+\d{{4}}"
        # ISO 8601 / RFC 3339 date-time, with or without fraction and zone
        r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
        # kitchen clock "3:04 PM" / "15:04:05", plain date
        r"|\b\d{1,2}:\d{2}(?::\d{2})?(?:\s[aApP][mM])?"
        r"|\d{4}-[01]\d-[0-3]\d"
        # Python's repr of a datetime
        r"|datetime\.datetime\(.*?\)",
    ),
    ("duration", r"\b\d+ms\b|\b\d+(?:\.\d+)?s\b"),
    ("hex", r"\b0[xX][0-9a-fA-F]+\b"),
    ("float", r"-\d+\.\d+\b|\b\d+\.\d+\b"),
    ("int", r"-\d+\b|\b\d+\b"),
    ("quoted_str", r"""(?<==)(?:'[^']+'|"[^"]+")"""),
    ("bool", r"(?<==)(?:[Tt]rue|[Ff]alse)"),
)

_COMBINED = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in PATTERNS))


def _placeholder(match: re.Match[str]) -> str:
    return f"<{match.lastgroup}>"


def parameterize(text: str) -> str:
    """Replace event-specific values by placeholders: ``"Order 12 for a@b.io"`` -> ``"Order
    <int> for <email>"``."""
    return _COMBINED.sub(_placeholder, text)


def trim_lines(text: str, keep: int = 2) -> str:
    """The first ``keep`` non-blank lines; ``...`` is appended when anything was cut."""
    kept = "\n".join(islice((line for line in text.splitlines() if line.strip()), keep))
    return kept if kept == text else kept + "..."


def normalize_message(text: str) -> str:
    """What a message or exception value contributes to a hash (docs/protocol.md,
    "Parameterisation")."""
    if len(text) <= _CACHED_CHARS:
        return _normalize_message(text)
    # A longer message (a log of 60 lines) is cached by the two lines it keeps: ``trim_lines``
    # gives them back unchanged, so the memo's own trim is a no-op.
    kept = trim_lines(text)
    return _normalize_message(kept) if len(kept) <= _CACHED_CHARS else parameterize(kept)


# An error that repeats repeats its message: the patterns above ran over it for every event
# (0.1 ms; 0.2 ms for two lines of timestamps, addresses and ids). Messages up to this length
# are cached, 4 MiB of messages and results at most.
_CACHED_CHARS = 2048


@memoize_bytes(4096, 4 * 1024 * 1024)
def _normalize_message(text: str) -> str:
    return parameterize(trim_lines(text))

"""The helper that re-times captured traffic (tests/retime.py)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from tests.retime import retime, retime_all, shift, stamps

pytestmark = pytest.mark.time_sensitive

CORPORA = Path(__file__).parent / "fixtures" / "corpora"
NOW = datetime(2031, 6, 15, 12, 30, 45, tzinfo=UTC).timestamp()
DAY = 86400


@pytest.mark.parametrize(
    ("before", "delta", "after"),
    [
        # RFC 3339: fraction and offset kept as written, whatever their precision.
        (b'{"sent_at":"2026-11-28T17:05:57.350Z"}', DAY, b'{"sent_at":"2026-11-29T17:05:57.350Z"}'),
        (b'{"t":"2026-11-28T17:05:55.699654Z"}', 60, b'{"t":"2026-11-28T17:06:55.699654Z"}'),
        (b'{"t":"2026-12-31T23:59:30Z"}', 60, b'{"t":"2027-01-01T00:00:30Z"}'),
        (b'{"t":"2026-11-28T18:05:00+01:00"}', 3600, b'{"t":"2026-11-28T19:05:00+01:00"}'),
        (b'{"t":"2026-11-28T17:05:00.000000Z"}', -120, b'{"t":"2026-11-28T17:03:00.000000Z"}'),
        # Epoch seconds in time fields: the whole part moves, the fraction stays.
        (b'{"timestamp":1795885558.5101316}', DAY, b'{"timestamp":1795971958.5101316}'),
        (b'{"start_timestamp": 1795885558}', 60, b'{"start_timestamp": 1795885618}'),
        (b'{"end_timestamp":1795885558.25,"x":1}', 60, b'{"end_timestamp":1795885618.25,"x":1}'),
        # Numbers that are not times, and strings that are not date-times, stay.
        (b'{"length":1795885558,"duration":1795885558.5}', DAY, None),
        (b'{"timestamp":17958855}', DAY, None),
        (b'{"message":"2026-11-28 17:05:57"}', DAY, None),
        (b'{"message":"at 2026-11-28T17:05:57Z sharp"}', DAY, None),
    ],
)
def test_shift_moves_time_fields_only(before: bytes, delta: int, after: bytes | None) -> None:
    assert shift(before, delta) == (before if after is None else after)


@pytest.mark.parametrize(
    "body",
    [
        b'{"sent_at":"2026-11-28T17:05:57.350Z"}\n{"type":"session"}\n'
        b'{"started":"2026-11-28T17:05:57.303Z","timestamp":"2026-11-28T17:05:57.350Z"}',
        b'{"timestamp":1795885558.5101316,"start_timestamp":1795885500.1}',
        b'{"a":"2026-11-28T17:05:57Z","b":1795885560.0}',
    ],
)
def test_retime_brings_the_newest_stamp_into_the_last_minute(body: bytes) -> None:
    moved = retime(body, now=NOW)
    assert len(moved) == len(body)
    newest = max(stamps(moved))
    assert NOW - 60 < newest <= NOW
    # Intervals between stamps are kept.
    before, after = stamps(body), stamps(moved)
    assert [b - before[0] for b in before] == [a - after[0] for a in after]


def test_retime_of_gzip_bodies_recompresses() -> None:
    plain = b'{"timestamp":1795885558.5,"sent_at":"2026-11-28T17:05:58.000Z"}\n'
    moved = retime(gzip.compress(plain), now=NOW)
    assert moved[:2] == b"\x1f\x8b"
    assert gzip.decompress(moved) == retime(plain, now=NOW)


def test_retime_without_stamps_is_identity() -> None:
    assert retime(b'{"type":"client_report"}', now=NOW) == b'{"type":"client_report"}'


def test_retime_all_moves_captures_together() -> None:
    first, second = b'{"timestamp":1795885000}', b'{"timestamp":1795885558}'
    moved_first, moved_second = retime_all([first, second], now=NOW)
    assert NOW - 60 < stamps(moved_second)[0] <= NOW
    assert stamps(moved_second)[0] - stamps(moved_first)[0] == 558


def captured_bodies() -> list[Path]:
    found = sorted((CORPORA / "wire").glob("*/*.body"))
    found += sorted(CORPORA.glob("sdk-*/*.envelope*"))
    return found


@pytest.mark.parametrize("path", captured_bodies(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_captured_envelopes_stay_well_formed(path: Path) -> None:
    """Every item keeps its declared length and stays valid JSON after re-timing."""
    raw = path.read_bytes()
    moved = retime(raw, now=NOW)
    body = gzip.decompress(moved) if moved[:2] == b"\x1f\x8b" else moved
    original = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    assert len(body) == len(original)
    found = stamps(body)
    assert not found or NOW - 60 < max(found) <= NOW
    header, _, rest = body.partition(b"\n")
    orjson.loads(header)
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item = orjson.loads(item_line)
        length = item.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length + 1 :]
        if item.get("content_type", "application/json") == "application/json" and payload:
            orjson.loads(payload)

"""Re-time captured traffic so that a replay never depends on the day it runs.

Captured envelopes carry the time they were captured: RFC 3339 strings (``sent_at``,
``started``, ``boot_time``, span and log timestamps) and epoch seconds (``timestamp``,
``start_timestamp``, ``end_timestamp``). A server rightly refuses or clamps data that is too
old (a session started more than five days ago, an event more than 30 days old), so a replay
that passed on the capture day fails a week later. ``retime`` moves every timestamp of a body
by one delta, a whole number of minutes chosen so that the newest one falls within the last
minute before ``now``: the intervals between them, their minute alignment and the body's byte
length stay as captured (the item headers' ``length`` stays right). Gzip-encoded bodies are
decompressed, re-timed and compressed again.
"""

from __future__ import annotations

import gzip
import math
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# A quoted RFC 3339 date-time: the fraction and the offset are kept as written.
_RFC3339 = re.compile(rb'"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})"')
# Epoch seconds as the value of a time field: the fraction is kept as written.
_EPOCH_KEYS = (
    rb"timestamp|start_timestamp|end_timestamp|received|sent_at|started|observed_timestamp"
)
_EPOCH = re.compile(rb'("(?:' + _EPOCH_KEYS + rb')"\s*:\s*)(\d{9,10})(\.\d+)?(?![\d.eE])')
_GZIP_MAGIC = b"\x1f\x8b"


def _rfc3339_seconds(match: re.Match[bytes]) -> float:
    date, clock, _, offset = match.groups()
    zone = "+00:00" if offset == b"Z" else offset.decode()
    return datetime.fromisoformat(f"{date.decode()}T{clock.decode()}{zone}").timestamp()


def stamps(body: bytes) -> list[float]:
    """Every timestamp ``retime`` would move, in epoch seconds (whole seconds)."""
    found = [_rfc3339_seconds(m) for m in _RFC3339.finditer(body)]
    found += [float(m.group(2)) for m in _EPOCH.finditer(body)]
    return found


def delta_for(bodies: list[bytes], now: float | None = None) -> int:
    """The shift (whole minutes, in seconds) that brings the newest stamp into the last minute."""
    found = [s for body in bodies for s in stamps(_decoded(body))]
    if not found:
        return 0
    now = time.time() if now is None else now
    return int(math.floor((now - max(found)) / 60) * 60)


def _decoded(body: bytes) -> bytes:
    return gzip.decompress(body) if body[:2] == _GZIP_MAGIC else body


def shift(body: bytes, delta: int) -> bytes:
    """Move every timestamp of a (plain or gzip) body by ``delta`` whole seconds."""
    if body[:2] == _GZIP_MAGIC:
        return gzip.compress(shift(gzip.decompress(body), delta), mtime=0)
    if delta == 0:
        return body

    def moved_rfc3339(match: re.Match[bytes]) -> bytes:
        date, clock, fraction, offset = match.groups()
        zone = "+00:00" if offset == b"Z" else offset.decode()
        parsed = datetime.fromisoformat(f"{date.decode()}T{clock.decode()}{zone}")
        moved = (parsed + timedelta(seconds=delta)).astimezone(parsed.tzinfo or UTC)
        text = moved.strftime("%Y-%m-%dT%H:%M:%S").encode()
        return b'"' + text + (fraction or b"") + offset + b'"'

    def moved_epoch(match: re.Match[bytes]) -> bytes:
        key, whole, fraction = match.groups()
        return key + str(int(whole) + delta).encode() + (fraction or b"")

    return _EPOCH.sub(moved_epoch, _RFC3339.sub(moved_rfc3339, body))


def retime(body: bytes, now: float | None = None) -> bytes:
    """``body`` with every timestamp moved so that the newest falls in the minute before now."""
    return shift(body, delta_for([body], now))


def retime_all(bodies: list[bytes], now: float | None = None) -> list[bytes]:
    """Several captures of one session, moved together (their order in time is kept)."""
    delta = delta_for(bodies, now)
    return [shift(body, delta) for body in bodies]


def retimed_copy(source: Path, directory: Path, now: float | None = None) -> Path:
    """A re-timed copy of a captured file, for tools that read files (``sentry-cli``)."""
    target = directory / source.name
    target.write_bytes(retime(source.read_bytes(), now))
    return target

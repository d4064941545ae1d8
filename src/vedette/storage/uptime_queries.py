"""The read side of uptime: hourly and daily roll-ups behind the bars, charts and percentages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from vedette.storage.schema import uptime_rollups
from vedette.storage.uptime import DAY, HOUR


@dataclass(frozen=True, slots=True)
class Bucket:
    start: int
    checks: int
    failures: int
    latency_ms_sum: float


def daily(conn: Connection, monitor_ids: Sequence[int], since: float) -> dict[int, list[Bucket]]:
    return _buckets(conn, monitor_ids, DAY, since)


def hourly(conn: Connection, monitor_ids: Sequence[int], since: float) -> dict[int, list[Bucket]]:
    return _buckets(conn, monitor_ids, HOUR, since)


def _buckets(
    conn: Connection, monitor_ids: Sequence[int], period: int, since: float
) -> dict[int, list[Bucket]]:
    """Per monitor, its buckets since ``since`` (the one holding it included), oldest first."""
    found: dict[int, list[Bucket]] = defaultdict(list)
    if not monitor_ids:
        return found
    t = uptime_rollups.c
    rows = conn.execute(
        select(t.monitor_id, t.start, t.checks, t.failures, t.latency_ms_sum)
        .where(
            t.monitor_id.in_(sorted(set(monitor_ids))),
            t.period == period,
            t.start >= int(since // period * period),
        )
        .order_by(t.monitor_id, t.start)
    )
    for r in rows:
        found[r.monitor_id].append(Bucket(r.start, r.checks, r.failures, r.latency_ms_sum))
    return found

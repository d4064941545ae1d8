"""Rows of the ``events`` table (errors and transactions, the event itself compressed), and
the first and last time each release was seen in them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from vedette.domain.events import Event
from vedette.domain.processed import ProcessedEvent
from vedette.storage.codec import pack
from vedette.storage.dialect import insert_ignore, upsert_add
from vedette.storage.schema import events, releases


def insert_events(
    conn: Connection,
    fresh_errors: list[tuple[int, ProcessedEvent]],
    fresh_transactions: list[tuple[int, Event]],
    group_of: dict[int, int],
) -> None:
    rows = [
        _event_row(
            pid, e.event, group_of[i], e.summary.title, e.summary.level, e.grouping.hashes[0]
        )
        for i, (pid, e) in enumerate(fresh_errors)
    ]
    rows += [
        _event_row(pid, t, None, str(t.get("transaction") or "<unlabeled transaction>"), None)
        for pid, t in fresh_transactions
    ]
    if rows:
        conn.execute(insert_ignore(conn, events), rows)


def _event_row(
    project_id: int,
    event: Event,
    group_id: int | None,
    title: str,
    level: str | None,
    grouping_hash: str | None = None,
) -> dict[str, Any]:
    """``grouping_hash``: an error's primary hash, which its issue owns once it is grouped
    (storage/issue_assignment.py); unmerge splits an issue by it (storage/unmerge.py)."""
    trace = (event.get("contexts") or {}).get("trace") or {}
    trace_id = trace.get("trace_id") if isinstance(trace, dict) else None
    return {
        "project_id": project_id,
        "event_id": event["event_id"],
        "group_id": group_id,
        "type": str(event.get("type") or "error"),
        "timestamp": float(event["timestamp"]),
        "received": float(event.get("received") or event["timestamp"]),
        "level": level,
        "release": event.get("release"),
        "environment": event.get("environment"),
        "transaction": event.get("transaction"),
        "trace_id": trace_id if isinstance(trace_id, str) else None,
        "title": title,
        "data": pack(event),
        "grouping_hash": grouping_hash,
    }


def upsert_releases(conn: Connection, stored: list[tuple[int, Event]]) -> None:
    seen: dict[tuple[int, str], list[float]] = {}
    for pid, event in stored:
        release = event.get("release")
        if isinstance(release, str) and release:
            ts = float(event["timestamp"])
            bounds = seen.setdefault((pid, release), [ts, ts])
            bounds[0], bounds[1] = min(bounds[0], ts), max(bounds[1], ts)
    if not seen:
        return
    conn.execute(
        upsert_add(
            conn,
            releases,
            key=("project_id", "version"),
            add=(),
            greatest_of=("last_seen",),
            least_of=("first_seen",),
        ),
        [
            {"project_id": pid, "version": v, "first_seen": lo, "last_seen": hi}
            for (pid, v), (lo, hi) in sorted(seen.items())
        ],
    )

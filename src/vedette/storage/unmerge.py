"""Unmerging an issue by hand (Sentry's unmerge, ``PUT /api/0/issues/{id}/hashes/?id=HASH``):
the events grouped by the named grouping hashes, and the hashes themselves, move to a new issue,
so that later events of those hashes land there too.

Counters are moved, not recounted from what is stored: retention trims the events of busy
issues while ``times_seen`` and the tag value counts go on counting every event. The moving
events are read (their tags, users, times and releases); their share is taken off the source
issue and makes up the new one. A bound of the source (first or last seen, of the issue or of a
tag value) that one of them held is found again among the events the source keeps. So merging
two issues and unmerging one's hashes leaves both exactly as they were.

Each event records the hash it was grouped by (``events.grouping_hash``, migration 0024); the
events stored before that have none and stay with the issue, except in issues that own a single
hash, whose events can only have been grouped by it (``fill_sole_hashes``, run by a merge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)

from vedette.domain.events import IssueStatus, IssueSummary
from vedette.domain.issue_activity import ActivityType
from vedette.storage import issue_activity
from vedette.storage.codec import unpack
from vedette.storage.issue_activity import NewActivity
from vedette.storage.issue_assignment import next_short_id
from vedette.storage.issue_counters import event_tags
from vedette.storage.schema import events, group_hashes, group_tag_values, group_users, groups

MAX_UNMERGE = 100  # hashes in one unmerge
_PAGE = 500  # events read at a time

# The issue fields an event gives (processing.titles.summarize: storage may not import it).
Summarize = Callable[[Mapping[str, Any]], IssueSummary]
TagKey = tuple[str, str]


class UnmergeError(ValueError):
    """Not something that can be unmerged: no hash, a hash the issue does not hold, or all."""


@dataclass(frozen=True, slots=True)
class IssueHash:
    hash: str
    events: int  # stored events grouped by it
    latest_event_id: str
    latest_timestamp: float


@dataclass(frozen=True, slots=True)
class UnmergeResult:
    source: int
    destination: int
    events: int


@dataclass(slots=True)
class _Tally:
    """What the moving events add up to: ``first`` and ``last`` by (timestamp, id)."""

    first: Any
    last: Any
    count: int = 0
    last_release: str | None = None
    tags: dict[TagKey, list[float]] = field(default_factory=dict)  # [events, first, last]


def issue_hashes(conn: Connection, issue_id: int) -> list[IssueHash]:
    """The grouping hashes the issue's stored events were grouped by, each with its event count
    and latest event, the most recently seen first (Sentry's list)."""
    rows = conn.execute(
        select(events.c.grouping_hash, func.count(), func.max(events.c.timestamp))
        .where(events.c.group_id == issue_id, events.c.grouping_hash.is_not(None))
        .group_by(events.c.grouping_hash)
    ).all()
    found = [
        IssueHash(str(h), int(n), _latest_event_id(conn, issue_id, str(h)), float(latest))
        for h, n, latest in rows
    ]
    return sorted(found, key=lambda x: (-x.latest_timestamp, x.hash))


def owned_hashes(conn: Connection, issue_id: int) -> int:
    """How many grouping hashes lead to the issue (cheap, unlike ``issue_hashes``): fewer than
    two, and there is nothing to unmerge."""
    return int(
        conn.execute(select(func.count()).where(group_hashes.c.group_id == issue_id)).scalar_one()
    )


def unhashed_events(conn: Connection, issue_id: int) -> int:
    """The issue's stored events that know no grouping hash (stored before migration 0024)."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(events)
            .where(events.c.group_id == issue_id, events.c.grouping_hash.is_(None))
        ).scalar_one()
    )


def _latest_event_id(conn: Connection, issue_id: int, grouping_hash: str) -> str:
    return str(
        conn.execute(
            select(events.c.event_id)
            .where(events.c.group_id == issue_id, events.c.grouping_hash == grouping_hash)
            .order_by(*_order(newest_first=True))
            .limit(1)
        ).scalar_one()
    )


def unmerge(
    conn: Connection,
    issue_id: int,
    hashes: Sequence[str],
    user_id: int | None,
    now: float,
    summarize: Summarize,
) -> UnmergeResult:
    """Move the events of ``hashes`` and the hashes to a new issue; at least one hash of the
    issue's events must stay."""
    wanted = sorted(set(hashes))
    if not wanted:
        raise UnmergeError("name the grouping hashes to unmerge")
    if len(wanted) > MAX_UNMERGE:
        raise UnmergeError(f"at most {MAX_UNMERGE} hashes can be unmerged at once")
    # Locked as a merge and the worker lock issues: no event is counted in meanwhile.
    source = conn.execute(
        select(groups).where(groups.c.id == issue_id).with_for_update()
    ).one_or_none()
    if source is None:
        raise UnmergeError("no such issue")
    held = set(
        conn.execute(
            select(events.c.grouping_hash)
            .where(events.c.group_id == issue_id, events.c.grouping_hash.is_not(None))
            .distinct()
        ).scalars()
    )
    unknown = [h for h in wanted if h not in held]
    if unknown:
        raise UnmergeError(f"{unknown[0]} is not a grouping hash of this issue's events")
    if held <= set(wanted):
        raise UnmergeError("an unmerge must leave the issue at least one of its hashes")
    moving = events.c.group_id == issue_id, events.c.grouping_hash.in_(wanted)
    tally = _tally(conn, and_(*moving))
    destination = _create_destination(conn, source, tally, wanted, summarize)
    conn.execute(update(events).where(*moving).values(group_id=destination))
    conn.execute(
        update(group_hashes)
        .where(
            group_hashes.c.project_id == source.project_id,
            group_hashes.c.hash.in_(wanted),
            group_hashes.c.group_id == issue_id,
        )
        .values(group_id=destination)
    )
    _give(conn, destination, tally)
    _take(conn, source, tally)
    issue_activity.record(
        conn,
        [
            NewActivity(issue_id, source.project_id, ActivityType.UNMERGE_SOURCE, user_id,
                        {"fingerprints": wanted, "destination_id": str(destination)}),
            NewActivity(destination, source.project_id, ActivityType.UNMERGE_DESTINATION,
                        user_id, {"fingerprints": wanted, "source_id": str(issue_id)}),
        ],
        now,
    )  # fmt: skip
    return UnmergeResult(issue_id, destination, tally.count)


def fill_sole_hashes(conn: Connection, issue_ids: Sequence[int]) -> None:
    """Events stored before migration 0024 of an issue that owns one grouping hash were all
    grouped by it: record it, so that they can be unmerged once the issue is merged (which
    gives it more hashes). A no-op for events that know their hash."""
    sole = conn.execute(
        select(group_hashes.c.group_id, func.min(group_hashes.c.hash))
        .where(group_hashes.c.group_id.in_(sorted(set(issue_ids))))
        .group_by(group_hashes.c.group_id)
        .having(func.count() == 1)
    ).all()
    for group_id, only in sole:
        conn.execute(
            update(events)
            .where(events.c.group_id == group_id, events.c.grouping_hash.is_(None))
            .values(grouping_hash=only)
        )


def _scan(conn: Connection, where: ColumnElement[bool], newest_first: bool) -> Iterator[Any]:
    """The events matching ``where`` in (timestamp, id) order, a page at a time."""
    key = tuple_(events.c.timestamp, events.c.id)
    after: tuple[float, int] | None = None
    while True:
        query = select(
            events.c.id, events.c.timestamp, events.c.release, events.c.level, events.c.title,
            events.c.data,
        ).where(where)  # fmt: skip
        if after is not None:
            query = query.where(key < tuple_(*after) if newest_first else key > tuple_(*after))
        rows = conn.execute(query.order_by(*_order(newest_first)).limit(_PAGE)).all()
        yield from rows
        if len(rows) < _PAGE:
            return
        after = (rows[-1].timestamp, rows[-1].id)


def _tally(conn: Connection, where: ColumnElement[bool]) -> _Tally:
    tally: _Tally | None = None
    for row in _scan(conn, where, newest_first=False):
        if tally is None:
            tally = _Tally(row, row)
        tally.count += 1
        tally.last = row
        tally.last_release = row.release or tally.last_release
        ts = float(row.timestamp)
        for pair in event_tags(unpack(row.data)):
            bounds = tally.tags.setdefault(pair, [0, ts, ts])
            bounds[0] += 1
            bounds[1], bounds[2] = min(bounds[1], ts), max(bounds[2], ts)
    assert tally is not None, "the hashes were read from these events"
    return tally


def _create_destination(
    conn: Connection, source: Any, tally: _Tally, hashes: list[str], summarize: Summarize
) -> int:
    """The new issue, as its earliest event would have made it, counting the moving events."""
    first = unpack(tally.first.data)
    summary = summarize(first)
    strategy = conn.execute(
        select(group_hashes.c.strategy)
        .where(group_hashes.c.project_id == source.project_id, group_hashes.c.hash.in_(hashes))
        .order_by(group_hashes.c.hash)
        .limit(1)
    ).scalar_one_or_none()
    return int(
        conn.execute(
            insert(groups)
            .values(
                project_id=source.project_id,
                short_id=next_short_id(conn, source.project_id),
                title=tally.first.title,
                culprit=summary.culprit,
                level=tally.last.level or summary.level,
                type=summary.type,
                metadata=summary.metadata,
                platform=str(first.get("platform") or "other"),
                status=IssueStatus.UNRESOLVED.value,
                substatus="new",
                first_seen=tally.first.timestamp,
                last_seen=tally.last.timestamp,
                times_seen=tally.count,
                first_release=tally.first.release,
                last_release=tally.last_release,
                grouping_strategy=strategy or source.grouping_strategy,
            )
            .returning(groups.c.id)
        ).scalar_one()
    )


def _give(conn: Connection, destination: int, tally: _Tally) -> None:
    rows = [
        {"group_id": destination, "key": k, "value": v, "times_seen": int(n), "first_seen": lo,
         "last_seen": hi}
        for (k, v), (n, lo, hi) in sorted(tally.tags.items())
    ]  # fmt: skip
    if rows:
        conn.execute(insert(group_tag_values), rows)
    users = [{"group_id": destination, "user_key": v} for k, v in sorted(tally.tags) if k == "user"]
    if users:
        conn.execute(insert(group_users), users)


def _take(conn: Connection, source: Any, tally: _Tally) -> None:
    """The source without the moved events: counts less theirs, bounds they held found again
    among the events it keeps, a user gone with the last of their events."""
    kept, gone = _tag_values_left(conn, source.id, tally)
    t = group_tag_values
    if gone:
        conn.execute(
            delete(t).where(t.c.group_id == source.id, t.c.key == bindparam("k"),
                            t.c.value == bindparam("v")),
            [{"k": k, "v": v} for k, v in gone],
        )  # fmt: skip
    users_gone = [{"u": v} for k, v in gone if k == "user"]
    if users_gone:
        conn.execute(
            delete(group_users).where(group_users.c.group_id == source.id,
                                      group_users.c.user_key == bindparam("u")),
            users_gone,
        )  # fmt: skip
    if kept:
        conn.execute(
            update(t)
            .where(t.c.group_id == source.id, t.c.key == bindparam("k"),
                   t.c.value == bindparam("v"))
            .values(times_seen=bindparam("n"), first_seen=bindparam("lo"),
                    last_seen=bindparam("hi")),
            [{"k": k, "v": v, "n": n, "lo": lo, "hi": hi}
             for (k, v), (n, lo, hi) in sorted(kept.items())],
        )  # fmt: skip
    conn.execute(
        update(groups).where(groups.c.id == source.id).values(_counters(conn, source, tally))
    )


def _tag_values_left(
    conn: Connection, source_id: int, tally: _Tally
) -> tuple[dict[TagKey, tuple[int, float, float]], list[TagKey]]:
    """The source's tag values the moved events counted in: those left (count, first, last)
    and those gone."""
    t = group_tag_values
    pairs = sorted(tally.tags)
    current: dict[TagKey, Any] = {}
    for start in range(0, len(pairs), _PAGE):
        rows = conn.execute(
            select(t.c.key, t.c.value, t.c.times_seen, t.c.first_seen, t.c.last_seen).where(
                t.c.group_id == source_id,
                tuple_(t.c.key, t.c.value).in_(pairs[start : start + _PAGE]),
            )
        ).all()
        current.update({(r.key, r.value): r for r in rows})
    left: dict[TagKey, list[Any]] = {}
    gone: list[TagKey] = []
    for pair, (n, lo, hi) in sorted(tally.tags.items()):
        row = current.get(pair)
        if row is None:
            continue
        if row.times_seen <= n:
            gone.append(pair)
        else:
            left[pair] = [int(row.times_seen - n), row.first_seen, row.last_seen, lo, hi]
    held = events.c.group_id == source_id
    firsts = _found_at(conn, held, {p for p, x in left.items() if x[3] <= x[1]}, False)
    lasts = _found_at(conn, held, {p for p, x in left.items() if x[4] >= x[2]}, True)
    kept = {
        p: (n, firsts.get(p, first), lasts.get(p, last))
        for p, (n, first, last, _, _) in left.items()
    }
    return kept, gone


def _found_at(
    conn: Connection, where: ColumnElement[bool], wanted: set[TagKey], newest_first: bool
) -> dict[TagKey, float]:
    """When each wanted tag value was first (or last) seen among the events ``where`` picks:
    read from the oldest (newest) event on, until every one is found. One no stored event has
    any more (retention) keeps its bound."""
    found: dict[TagKey, float] = {}
    if not wanted:
        return found
    for row in _scan(conn, where, newest_first):
        for pair in event_tags(unpack(row.data)):
            if pair in wanted and pair not in found:
                found[pair] = float(row.timestamp)
        if len(found) == len(wanted):
            break
    return found


def _counters(conn: Connection, source: Any, tally: _Tally) -> dict[str, Any]:
    """The source's counters less the moved events'; a bound they held comes from the events
    it keeps (its earliest for first seen and release, its latest for last seen and level)."""
    values: dict[str, Any] = {"times_seen": max(int(source.times_seen) - tally.count, 0)}
    kept = events.c.group_id == source.id
    if tally.first.timestamp <= source.first_seen:
        earliest = _end(conn, kept, newest_first=False)
        if earliest is not None:
            values.update(first_seen=earliest.timestamp, first_release=earliest.release)
    if tally.last.timestamp >= source.last_seen:
        latest = _end(conn, kept, newest_first=True)
        if latest is not None:
            values.update(last_seen=latest.timestamp, level=latest.level or source.level)
            release = conn.execute(
                select(events.c.release)
                .where(kept, events.c.release.is_not(None))
                .order_by(*_order(newest_first=True))
                .limit(1)
            ).scalar_one_or_none()
            values["last_release"] = release or source.last_release
    return values


def _end(conn: Connection, where: ColumnElement[bool], newest_first: bool) -> Any | None:
    """The earliest (latest) of the events ``where`` picks."""
    return conn.execute(
        select(events.c.timestamp, events.c.release, events.c.level)
        .where(where)
        .order_by(*_order(newest_first))
        .limit(1)
    ).first()


def _order(newest_first: bool) -> tuple[Any, ...]:
    if newest_first:
        return events.c.timestamp.desc(), events.c.id.desc()
    return events.c.timestamp, events.c.id

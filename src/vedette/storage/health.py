"""Release health: session counters per (project, release, environment, hour) and their rates.

Individual ``session`` updates go through ``domain.sessions.apply_update`` against the stored
state of their session (locked, so concurrent workers on PostgreSQL apply one at a time);
``sessions`` aggregates add straight to the counters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from vedette.domain.processed import ProcessedEnvelope
from vedette.domain.sessions import (
    SessionState,
    SessionUpdate,
    apply_update,
    bucket_of,
    crash_free,
)
from vedette.storage.batch_keys import by_project
from vedette.storage.dialect import insert_ignore, upsert_add
from vedette.storage.schema import (
    groups,
    release_session_users,
    release_sessions,
    releases,
    session_states,
)

MAX_SESSION_SECONDS = 5 * 86400.0
_COUNTERS = ("total", "unhealthy", "crashed", "abnormal", "exited_with_duration", "duration_sum")
_BucketKey = tuple[int, str, str, int]  # project, release, environment, bucket
_Add = Callable[[_BucketKey, Sequence[float]], None]


def store_sessions(
    conn: Connection, batch: Sequence[tuple[int, ProcessedEnvelope]], now: float
) -> None:
    counters: dict[_BucketKey, list[float]] = defaultdict(lambda: [0.0] * len(_COUNTERS))
    users: dict[tuple[int, str, str, int, str], int] = {}

    def add(key: _BucketKey, values: Sequence[float]) -> None:
        entry = counters[key]
        for i, v in enumerate(values):
            entry[i] += v

    for pid, env in batch:
        for agg in env.session_aggregates:
            key = (pid, agg.release, agg.environment, bucket_of(agg.started))
            add(
                key,
                (
                    agg.total,
                    agg.errored + agg.crashed + agg.abnormal,
                    agg.crashed,
                    agg.abnormal,
                    0,
                    0.0,
                ),
            )
            if agg.did is not None:
                user = (*key, agg.did)
                users[user] = max(users.get(user, 0), int(agg.crashed > 0))
    updates = [(pid, u) for pid, env in batch for u in env.session_updates]
    if updates:
        _apply_updates(conn, updates, now, add, users)
    if counters:
        conn.execute(
            upsert_add(
                conn,
                release_sessions,
                key=("project_id", "release", "environment", "bucket"),
                add=_COUNTERS,
            ),
            [
                {
                    "project_id": k[0],
                    "release": k[1],
                    "environment": k[2],
                    "bucket": k[3],
                    **{
                        name: (v[i] if name == "duration_sum" else int(v[i]))
                        for i, name in enumerate(_COUNTERS)
                    },
                }
                for k, v in sorted(counters.items())
            ],
        )
    if users:
        stmt = upsert_add(
            conn,
            release_session_users,
            key=("project_id", "release", "environment", "bucket", "did"),
            add=(),
            greatest_of=("crashed",),
        )
        conn.execute(
            stmt,
            [
                {
                    "project_id": k[0],
                    "release": k[1],
                    "environment": k[2],
                    "bucket": k[3],
                    "did": k[4],
                    "crashed": c,
                }
                for k, c in sorted(users.items())
            ],
        )


def _state_of(row: Row[Any]) -> SessionState | None:
    """A locked session row's state; None for the placeholder inserted for a new session."""
    if row.status == "new":
        return None
    return SessionState(
        row.seq, row.status, row.unhealthy, row.release, row.environment, row.started, row.did,
        row.counted,
    )  # fmt: skip


def _apply_updates(
    conn: Connection,
    updates: list[tuple[int, SessionUpdate]],
    now: float,
    add: _Add,
    users: dict[tuple[int, str, str, int, str], int],
) -> None:
    keys = sorted({(pid, u.sid) for pid, u in updates})
    # Make sure a row exists for every session, then lock them all in key order.
    conn.execute(
        insert_ignore(conn, session_states),
        [
            {
                "project_id": pid,
                "sid": sid,
                "seq": -1,
                "status": "new",
                "unhealthy": False,
                "counted": False,
                "release": "",
                "environment": "",
                "started": 0.0,
                "did": None,
                "updated_at": now,
            }
            for pid, sid in keys
        ],
    )
    states: dict[tuple[int, str], SessionState | None] = {}
    for project_id, sids in by_project(keys).items():  # projects in order: locks in key order
        rows = conn.execute(
            select(session_states)
            .where(session_states.c.project_id == project_id, session_states.c.sid.in_(sids))
            .order_by(session_states.c.sid)
            .with_for_update()
        )
        states.update(((r.project_id, r.sid), _state_of(r)) for r in rows)
    changed: set[tuple[int, str]] = set()
    for pid, update_ in sorted(updates, key=lambda pu: (pu[1].seq, pu[1].timestamp)):
        key = (pid, update_.sid)
        state, delta = apply_update(states.get(key), update_)
        if state is None:
            continue
        states[key] = state
        changed.add(key)
        bucket = (pid, state.release, state.environment, bucket_of(state.started))
        add(
            bucket,
            (
                delta.total,
                delta.unhealthy,
                delta.crashed,
                delta.abnormal,
                delta.exited_with_duration,
                delta.duration_sum,
            ),
        )
        if state.did is not None:
            user = (*bucket, state.did)
            users[user] = max(users.get(user, 0), int(delta.user_crashed))
    for key in sorted(changed):
        state = states[key]
        assert state is not None
        conn.execute(
            update(session_states)
            .where(session_states.c.project_id == key[0], session_states.c.sid == key[1])
            .values(
                seq=state.seq,
                status=state.status,
                unhealthy=state.unhealthy,
                counted=state.counted,
                release=state.release,
                environment=state.environment,
                started=state.started,
                did=state.did,
                updated_at=now,
            )
        )


def prune_session_states(conn: Connection, now: float) -> int:
    """Forget sessions that can receive no more updates (Relay ignores updates more than five
    days after the start; a day of slack for late envelopes)."""
    cutoff = now - MAX_SESSION_SECONDS - 86400
    result = conn.execute(session_states.delete().where(session_states.c.started < cutoff))
    return int(result.rowcount or 0)


@dataclass(frozen=True, slots=True)
class ReleaseHealth:
    version: str
    first_seen: float | None
    last_seen: float | None
    sessions: int
    sessions_crashed: int
    sessions_abnormal: int
    sessions_errored: int
    users: int
    users_crashed: int
    new_groups: int
    adoption: float | None
    duration_avg: float | None
    series: list[tuple[int, int]]

    @property
    def sessions_healthy(self) -> int:
        return (
            self.sessions - self.sessions_errored - self.sessions_crashed - self.sessions_abnormal
        )

    @property
    def crash_free_sessions(self) -> float | None:
        return crash_free(self.sessions_crashed, self.sessions)

    @property
    def crash_free_users(self) -> float | None:
        return crash_free(self.users_crashed, self.users)


def release_health(
    conn: Connection,
    project_id: int,
    start: float,
    end: float,
    environment: str | None = None,
    limit: int = 100,
) -> list[ReleaseHealth]:
    """Releases known from events or sessions, most recently seen first, with their health."""
    s = release_sessions
    where = [s.c.project_id == project_id, s.c.bucket >= bucket_of(start), s.c.bucket < end]
    if environment is not None:
        where.append(s.c.environment == environment)
    counts = {
        r.release: r
        for r in conn.execute(
            select(
                s.c.release,
                func.sum(s.c.total).label("total"),
                func.sum(s.c.unhealthy).label("unhealthy"),
                func.sum(s.c.crashed).label("crashed"),
                func.sum(s.c.abnormal).label("abnormal"),
                func.sum(s.c.exited_with_duration).label("durations"),
                func.sum(s.c.duration_sum).label("duration_sum"),
                func.max(s.c.bucket).label("last_bucket"),
            )
            .where(*where)
            .group_by(s.c.release)
        )
    }
    series: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in conn.execute(
        select(s.c.release, s.c.bucket, func.sum(s.c.total))
        .where(*where)
        .group_by(s.c.release, s.c.bucket)
        .order_by(s.c.bucket)
    ):
        series[r[0]].append((int(r[1]), int(r[2])))
    u = release_session_users
    uwhere = [u.c.project_id == project_id, u.c.bucket >= bucket_of(start), u.c.bucket < end]
    if environment is not None:
        uwhere.append(u.c.environment == environment)
    per_user = (
        select(u.c.release, u.c.did, func.max(u.c.crashed).label("crashed"))
        .where(*uwhere)
        .group_by(u.c.release, u.c.did)
        .subquery()
    )
    user_counts = {
        r.release: (int(r.users), int(r.crashed or 0))
        for r in conn.execute(
            select(
                per_user.c.release,
                func.count().label("users"),
                func.sum(per_user.c.crashed).label("crashed"),
            ).group_by(per_user.c.release)
        )
    }
    known = {
        r.version: r
        for r in conn.execute(
            select(releases).where(
                releases.c.project_id == project_id,
                releases.c.last_seen >= start,
                releases.c.first_seen < end,
            )
        )
    }
    new_groups = {
        r[0]: int(r[1])
        for r in conn.execute(
            select(groups.c.first_release, func.count())
            .where(groups.c.project_id == project_id, groups.c.first_release.is_not(None))
            .group_by(groups.c.first_release)
        )
    }
    all_sessions = sum(int(r.total) for r in counts.values())
    versions = set(counts) | set(known)
    found = []
    for version in versions:
        c = counts.get(version)
        k = known.get(version)
        total = int(c.total) if c is not None else 0
        unhealthy = int(c.unhealthy) if c is not None else 0
        crashed = int(c.crashed) if c is not None else 0
        abnormal = int(c.abnormal) if c is not None else 0
        durations = int(c.durations) if c is not None else 0
        users, users_crashed = user_counts.get(version, (0, 0))
        last_bucket = float(c.last_bucket) if c is not None else None
        found.append(
            ReleaseHealth(
                version=version,
                first_seen=k.first_seen if k is not None else None,
                last_seen=max(
                    x for x in (k.last_seen if k else None, last_bucket) if x is not None
                ),
                sessions=total,
                sessions_crashed=crashed,
                sessions_abnormal=abnormal,
                sessions_errored=max(0, unhealthy - crashed - abnormal),
                users=users,
                users_crashed=users_crashed,
                new_groups=new_groups.get(version, 0),
                adoption=total / all_sessions if all_sessions else None,
                duration_avg=(float(c.duration_sum) / durations)
                if c is not None and durations
                else None,
                series=series.get(version, []),
            )
        )
    found.sort(key=lambda r: (-(r.last_seen or 0.0), r.version))
    return found[:limit]

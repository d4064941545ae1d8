"""Retention: forget what is older than the policy allows and trim issues past their cap.

Every delete is a short write transaction of at most ``batch`` rows, so cleanup interleaves
with the worker's batches instead of holding SQLite's single write lock for seconds (ingest
itself never waits: it writes to the spool). Each step walks an index that starts with the
keys it filters on: events by (group_id, timestamp) or (project_id, type, timestamp), spans by
(project_id, start_timestamp), check-ins by (monitor_id, date_added).

On PostgreSQL spans and logs are partitioned by day (storage/partitions.py): a day whose
records have all expired is dropped whole, in milliseconds, and only the default partition's
rows (records that came without a day of their own) are deleted in batches.

Housekeeping that removes nothing runs here too: finished days and hours of the duration
histograms are packed into one row per key (storage/histogram_compaction.py), in short batches
as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from sqlalchemy import (
    ColumnElement,
    Connection,
    MetaData,
    Table,
    func,
    literal_column,
    select,
    tuple_,
)

from vedette.domain.retention import RetentionPolicy, positions_to_keep
from vedette.storage import histogram_compaction, partitions, uploads, uptime
from vedette.storage.database import Database
from vedette.storage.health import prune_session_states
from vedette.storage.schema import (
    alert_firings,
    attachments,
    events,
    group_activity,
    group_assignees,
    group_hashes,
    group_links,
    group_tag_values,
    group_users,
    groups,
    log_records,
    monitor_checkins,
    monitors,
    notification_attempts,
    notifications,
    profiles,
    projects,
    spans,
)

DEFAULT_BATCH = 500
UNASSEMBLED_CHUNK_SECONDS = 86400.0


@dataclass(slots=True)
class CleanupReport:
    events: int = 0
    issues: int = 0
    attachments: int = 0
    spans: int = 0
    check_ins: int = 0
    session_states: int = 0
    notifications: int = 0
    alert_firings: int = 0
    logs: int = 0
    profiles: int = 0
    # Not removed but moved: detailed day and hour histogram rows packed
    # (storage/histogram_compaction.py).
    histogram_rows_packed: int = 0

    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


def cleanup(
    db: Database, policy: RetentionPolicy, now: float, batch: int = DEFAULT_BATCH
) -> CleanupReport:
    """Apply ``policy`` to every project; returns what was removed."""
    report = CleanupReport()
    cutoff = now - policy.max_age_seconds
    span_cutoff = now - policy.span_max_age_seconds
    log_cutoff = now - policy.log_max_age_seconds
    days = partitions.maintain(
        db, now, {partitions.SPANS.table: span_cutoff, partitions.LOGS.table: log_cutoff}
    )
    report.spans += days.dropped.get(partitions.SPANS.table, 0)
    report.logs += days.dropped.get(partitions.LOGS.table, 0)
    span_rows = _row_by_row(db, spans, partitions.SPANS)
    log_rows = _row_by_row(db, log_records, partitions.LOGS)
    with db.read() as conn:
        project_ids = list(conn.scalars(select(projects.c.id)))
    for project_id in project_ids:
        _expire_transactions(db, project_id, cutoff, batch, report)
        _expire_issues(db, project_id, cutoff, batch, report)
        _trim_issues(db, project_id, policy.max_events_per_issue, batch, report)
        report.spans += _delete_in_batches(
            db,
            span_rows,
            (span_rows.c.project_id, span_rows.c.trace_id, span_rows.c.span_id),
            span_rows.c.project_id == project_id,
            span_rows.c.start_timestamp < span_cutoff,
            batch=batch,
        )
        report.logs += _delete_in_batches(
            db,
            log_rows,
            (log_rows.c.id,),
            log_rows.c.project_id == project_id,
            log_rows.c.timestamp < log_cutoff,
            batch=batch,
        )
        report.profiles += _delete_in_batches(
            db,
            profiles,
            (profiles.c.id,),
            profiles.c.project_id == project_id,
            profiles.c.start_timestamp < now - policy.profile_max_age_seconds,
            batch=batch,
        )
    _expire_check_ins(db, cutoff, batch, report)
    _expire_alert_history(db, cutoff, batch, report)
    uptime.expire(db, now - policy.span_max_age_seconds, cutoff, batch)
    # sentry-cli's files live as long as events; chunks no file took, a day (it assembles at once).
    uploads.expire(db, cutoff, now - UNASSEMBLED_CHUNK_SECONDS, batch)
    with db.write() as conn:
        # Sessions can receive no more updates five days after they started (Relay's rule).
        report.session_states = prune_session_states(conn, now)
    report.histogram_rows_packed = histogram_compaction.pack_finished(db, now)
    return report


def _row_by_row(db: Database, table: Table, partitioned: partitions.Partitioned) -> Table:
    """Where expired rows of a table are deleted in batches: the table itself (SQLite), or
    on PostgreSQL its default partition only (the rows that had no day of their own; the
    days go whole, in ``partitions.maintain``)."""
    with db.read() as conn:
        if not partitions.is_partitioned(conn, partitioned):
            return table
    return table.to_metadata(MetaData(), schema=partitions.SCHEMA, name=partitioned.default)


def _expire_transactions(
    db: Database, project_id: int, cutoff: float, batch: int, report: CleanupReport
) -> None:
    _delete_matching_events(
        db,
        project_id,
        (
            events.c.project_id == project_id,
            events.c.type == "transaction",
            events.c.timestamp < cutoff,
        ),
        batch,
        report,
    )


def _delete_matching_events(
    db: Database,
    project_id: int,
    where: tuple[ColumnElement[bool], ...],
    batch: int,
    report: CleanupReport,
) -> None:
    # Found on a reader first: most hourly runs find nothing and then take no write lock.
    while True:
        with db.read() as conn:
            rows = conn.execute(
                select(events.c.id, events.c.event_id).where(*where).limit(batch)
            ).all()
        if rows:
            with db.write() as conn:
                _delete_events(conn, project_id, rows, report)
        if len(rows) < batch:
            return


def _expire_issues(
    db: Database, project_id: int, cutoff: float, batch: int, report: CleanupReport
) -> None:
    """Old events of every issue that began before the cutoff; then the issues not seen since."""
    with db.read() as conn:
        old_groups = conn.execute(
            select(groups.c.id, groups.c.last_seen).where(
                groups.c.project_id == project_id, groups.c.first_seen < cutoff
            )
        ).all()
    for group_id, last_seen in old_groups:
        where = (events.c.group_id == group_id, events.c.timestamp < cutoff)
        _delete_matching_events(db, project_id, where, batch, report)
        if last_seen < cutoff:  # rechecked under the row lock
            with db.write() as conn:
                report.issues += _delete_issue_if_idle(conn, group_id, cutoff)


def _delete_issue_if_idle(conn: Connection, group_id: int, cutoff: float) -> int:
    """Delete the issue and its tallies when it has not been seen since ``cutoff``. The row
    lock (PostgreSQL) holds off a worker that is adding an event to it meanwhile; a later event
    with the same fingerprint starts a new issue, as in Sentry after retention."""
    idle = conn.execute(
        select(groups.c.id)
        .where(groups.c.id == group_id, groups.c.last_seen < cutoff)
        .with_for_update()
    ).first()
    if (
        idle is None
        or conn.execute(select(events.c.id).where(events.c.group_id == group_id).limit(1)).first()
    ):
        return 0
    doomed = (group_hashes, group_tag_values, group_users, group_assignees, group_activity,
              group_links)  # fmt: skip
    for table in doomed:
        conn.execute(table.delete().where(table.c.group_id == group_id))
    conn.execute(groups.delete().where(groups.c.id == group_id))
    return 1


def _trim_issues(
    db: Database, project_id: int, cap: int, batch: int, report: CleanupReport
) -> None:
    """Issues storing more than ``cap`` events keep the first, the latest and a sample."""
    with db.read() as conn:
        # times_seen counts every event ever seen, so it bounds what can be stored.
        candidates = list(
            conn.scalars(
                select(groups.c.id).where(
                    groups.c.project_id == project_id, groups.c.times_seen > cap
                )
            )
        )
    for group_id in candidates:
        with db.read() as conn:
            stored = conn.scalar(
                select(func.count()).select_from(events).where(events.c.group_id == group_id)
            )
            if not stored or stored <= cap:
                continue
            ordered = conn.execute(
                select(events.c.id, events.c.event_id)
                .where(events.c.group_id == group_id)
                .order_by(events.c.timestamp, events.c.id)
            ).all()
        keep = positions_to_keep(len(ordered), cap)
        doomed = [row for position, row in enumerate(ordered) if position not in keep]
        for start in range(0, len(doomed), batch):
            with db.write() as conn:
                _delete_events(conn, project_id, doomed[start : start + batch], report)


def _delete_events(
    conn: Connection, project_id: int, rows: Sequence[tuple[int, str]], report: CleanupReport
) -> None:
    if not rows:
        return
    result = conn.execute(events.delete().where(events.c.id.in_([row[0] for row in rows])))
    report.events += int(result.rowcount or 0)
    result = conn.execute(
        attachments.delete().where(
            attachments.c.project_id == project_id,
            attachments.c.event_id.in_([row[1] for row in rows]),
        )
    )
    report.attachments += int(result.rowcount or 0)


def _expire_check_ins(db: Database, cutoff: float, batch: int, report: CleanupReport) -> None:
    with db.read() as conn:
        monitor_ids = list(conn.scalars(select(monitors.c.id)))
    for monitor_id in monitor_ids:
        report.check_ins += _delete_in_batches(
            db,
            monitor_checkins,
            (monitor_checkins.c.id,),
            monitor_checkins.c.monitor_id == monitor_id,
            monitor_checkins.c.date_added < cutoff,
            batch=batch,
        )


def _expire_alert_history(db: Database, cutoff: float, batch: int, report: CleanupReport) -> None:
    """Delivered or failed notifications (with their attempts) and firings as old as events
    that are deleted; nothing still to send, and no firing still waiting for its digest."""
    finished = select(notifications.c.id).where(
        notifications.c.status != "pending", notifications.c.created_at < cutoff
    )
    _delete_in_batches(
        db,
        notification_attempts,
        (notification_attempts.c.id,),
        notification_attempts.c.notification_id.in_(finished),
        batch=batch,
    )
    report.notifications += _delete_in_batches(
        db,
        notifications,
        (notifications.c.id,),
        notifications.c.status != "pending",
        notifications.c.created_at < cutoff,
        batch=batch,
    )
    report.alert_firings += _delete_in_batches(
        db,
        alert_firings,
        (alert_firings.c.id,),
        alert_firings.c.fired_at < cutoff,
        alert_firings.c.delivery != "digest",
        batch=batch,
    )


def _delete_in_batches(
    db: Database,
    table: Table,
    key: tuple[ColumnElement[object], ...],
    *where: ColumnElement[bool],
    batch: int,
) -> int:
    """Delete the rows matching ``where``, ``batch`` at a time, by ``key``.

    On SQLite a key of several columns is replaced by the rowid: SQLite looks a row value up in
    ``IN (SELECT ...)`` by the key's first column only, so deleting a batch of a project's
    spans by (project, trace, span) walked every span of the project for each batch."""
    if db.is_sqlite and len(key) > 1:
        key = (literal_column("rowid"),)
    removed = 0
    doomed = select(*key).select_from(table).where(*where).limit(batch)
    while True:
        with db.read() as conn:  # no write lock when there is nothing to delete
            if conn.execute(doomed.limit(1)).first() is None:
                return removed
        with db.write() as conn:
            if len(key) == 1:
                result = conn.execute(table.delete().where(key[0].in_(doomed)))
            else:
                result = conn.execute(table.delete().where(tuple_(*key).in_(doomed)))
            count = int(result.rowcount or 0)
        removed += count
        if count < batch:
            return removed


def database_bytes(db: Database) -> int:
    """Bytes the database takes on disk (SQLite: the file and its WAL; PostgreSQL: the
    database's size as the server counts it)."""
    if db.is_sqlite:
        path = db.url.database
        if not path or path == ":memory:":
            return 0
        return sum(
            Path(path + suffix).stat().st_size
            for suffix in ("", "-wal")
            if Path(path + suffix).exists()
        )
    with db.read() as conn:
        return int(conn.scalar(select(func.pg_database_size(func.current_database()))) or 0)

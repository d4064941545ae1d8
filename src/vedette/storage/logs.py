"""Structured logs: stored with each batch, searched newest first (docs/logs.md).

The search language: ``level:error`` (several levels: any of them), ``trace:TRACE_ID``,
``release:`` and ``environment:``, any other ``KEY:VALUE`` on an attribute (``!KEY:VALUE``
excludes), and free text in the body. Pages follow a keyset cursor ``timestamp:id`` so that a
page costs the same however deep it is.

A search that no index answers (an attribute value, a word of the body) reads records newest
first until it has a page of matches; a rare term would read the whole window (seconds at
millions of records). So such a search reads at most ``scan`` records (``SCAN_ROWS``) and
then stops with what it found and a cursor where it stopped: the page is *partial*, and the
next one goes on with the older records (docs/logs.md).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from vedette.domain.envelope import normalize_event_id
from vedette.domain.processed import LogRecord, ProcessedEnvelope
from vedette.storage.dialect import insert_ignore
from vedette.storage.schema import events, log_records, spans

SCAN_ROWS = 10_000
LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")
_LEVEL_ALIASES = {"warning": "warn", "critical": "fatal"}
_COLUMNS = ("release", "environment")  # searched in their columns, not in the attributes


@dataclass(frozen=True, slots=True)
class AttributeFilter:
    key: str
    value: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class LogQuery:
    levels: tuple[str, ...] = ()
    trace_id: str | None = None
    attributes: tuple[AttributeFilter, ...] = ()
    text: str = ""
    problems: tuple[str, ...] = field(default=())


def parse_log_query(query: str) -> LogQuery:
    try:
        tokens = shlex.split(query)
    except ValueError:  # an unbalanced quote: whitespace it is
        tokens = query.split()
    levels: list[str] = []
    trace_id: str | None = None
    attributes: list[AttributeFilter] = []
    words: list[str] = []
    problems: list[str] = []
    for token in tokens:
        negated = token.startswith("!")
        key, sep, value = token.removeprefix("!").partition(":")
        if not sep or not key or not value:
            words.append(token)
        elif key in ("level", "severity") and not negated:
            level = _LEVEL_ALIASES.get(value.lower(), value.lower())
            if level in LEVELS:
                levels.append(level)
            else:
                problems.append(f"unknown level {value!r}")
        elif key in ("trace", "trace_id") and not negated:
            trace_id = normalize_event_id(value)
            if trace_id is None:
                problems.append(f"not a trace id: {value!r}")
        else:
            attributes.append(AttributeFilter(key, value, negated))
    return LogQuery(tuple(levels), trace_id, tuple(attributes), " ".join(words), tuple(problems))


@dataclass(frozen=True, slots=True)
class StoredLog:
    id: int
    log_id: str
    project_id: int
    timestamp: float
    level: str
    severity_number: int
    body: str
    template: str | None
    parameters: dict[str, Any]
    attributes: dict[str, dict[str, Any]]
    trace_id: str | None
    span_id: str | None
    release: str | None
    environment: str | None
    sdk: str | None

    @property
    def position(self) -> Position:
        return (self.timestamp, self.id)

    @property
    def cursor(self) -> str:
        return format_cursor(self.position)


Position = tuple[float, int]  # (timestamp, id): where a record stands in newest-first order


@dataclass(frozen=True, slots=True)
class LogPage:
    """A page of a search: its rows, where the next page starts (None: the window is done),
    and whether the search stopped at its scan bound with fewer than a page of rows."""

    rows: list[StoredLog]
    next_cursor: Position | None
    partial: bool = False


def next_page(
    found: Sequence[Position], limit: int, boundary: Position | None
) -> tuple[Position | None, bool]:
    """Where the next page starts and whether this one is partial: after the last row of a
    full page; else, when the scan stopped at its bound (``boundary``: the oldest record it
    read), after that record; else nowhere (the window was read to its end)."""
    if len(found) >= limit:
        return found[limit - 1], False
    if boundary is not None:
        return boundary, True
    return None, False


def needs_bound(query: LogQuery) -> bool:
    """Whether a search's cost is the records it reads, not its matches: an attribute or a
    word, and no trace (a trace's records come from its own index, however old)."""
    return query.trace_id is None and bool(query.attributes or query.text)


def store_logs(conn: Connection, batch: Sequence[tuple[int, ProcessedEnvelope]]) -> None:
    """Insert the batch's records; a record stored before (same project and id) is skipped."""
    rows = [_row(pid, record) for pid, env in batch for record in env.logs]
    if rows:
        conn.execute(insert_ignore(conn, log_records), rows)


def _row(project_id: int, record: LogRecord) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "log_id": record.log_id,
        "timestamp": record.timestamp,
        "level": record.level,
        "severity_number": record.severity_number,
        "body": record.body,
        "template": record.template,
        "parameters": record.parameters,
        "attributes": record.attributes,
        "trace_id": record.trace_id,
        "span_id": record.span_id,
        "release": record.release,
        "environment": record.environment,
        "sdk": record.sdk,
    }


def _attribute_condition(
    found: AttributeFilter, c: ReadOnlyColumnCollection[str, Any]
) -> ColumnElement[bool]:
    attribute = c.attributes[(found.key, "value")].as_string()
    column = c[found.key] if found.key in _COLUMNS else attribute
    matches = column == found.value
    return or_(column.is_(None), column != found.value) if found.negated else matches


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(
    query: LogQuery, c: ReadOnlyColumnCollection[str, Any] = log_records.c
) -> list[ColumnElement[bool]]:
    """The query's filters on the columns ``c`` (the table's, or a subquery's)."""
    where: list[ColumnElement[bool]] = []
    if query.levels:
        where.append(c.level.in_(query.levels))
    if query.trace_id is not None:
        where.append(c.trace_id == query.trace_id)
    where.extend(_attribute_condition(a, c) for a in query.attributes)
    if query.text:
        pattern = f"%{_escape_like(query.text)}%"
        where.append(c.body.ilike(pattern, escape="\\"))
    return where


def parse_cursor(raw: str) -> Position | None:
    timestamp, sep, row_id = raw.partition(":")
    try:
        return (float(timestamp), int(row_id)) if sep else None
    except ValueError:
        return None


def format_cursor(position: Position) -> str:
    return f"{position[0]!r}:{position[1]}"


def _older_than(position: Position) -> list[ColumnElement[bool]]:
    """Records after ``position`` newest first (the first condition bounds the index range)."""
    ts, row_id = log_records.c.timestamp, log_records.c.id
    return [
        ts <= position[0],
        or_(ts < position[0], and_(ts == position[0], row_id < position[1])),
    ]


def _not_older_than(position: Position) -> list[ColumnElement[bool]]:
    ts, row_id = log_records.c.timestamp, log_records.c.id
    return [
        ts >= position[0],
        or_(ts > position[0], and_(ts == position[0], row_id >= position[1])),
    ]


def search_logs(
    conn: Connection,
    project_id: int,
    query: LogQuery,
    start: float,
    end: float,
    limit: int,
    cursor: Position | None = None,
    scan: int = SCAN_ROWS,
) -> LogPage:
    """Newest first after ``cursor`` (the position the previous page gave). A search that
    ``needs_bound`` filters the ``scan`` records that follow the cursor in the window: a
    subquery the filters cannot be pushed into, read lazily by the (project, timestamp, id)
    index, so a common term still stops after its page. With fewer than a page found, the
    last record read is looked up on the index alone (it is where the next page starts).
    PostgreSQL reads each statement as of its start: a record stored meanwhile with an old
    timestamp can move that position up a little, and the next page then reads a few records
    again (never skips one)."""
    window = [
        log_records.c.project_id == project_id,
        log_records.c.timestamp >= start,
        log_records.c.timestamp <= end,
        *(_older_than(cursor) if cursor is not None else []),
    ]
    bounded = needs_bound(query)
    source = (
        select(log_records).where(*window).order_by(*_newest_first(log_records)).limit(scan)
    ).subquery() if bounded else log_records  # fmt: skip
    rows = conn.execute(
        select(source)
        .where(*([] if bounded else window), *_conditions(query, source.c))
        .order_by(*_newest_first(source))
        .limit(limit)
    )
    found = [_stored(r._mapping) for r in rows]
    boundary = _scan_boundary(conn, window, scan) if bounded and len(found) < limit else None
    after, partial = next_page([r.position for r in found], limit, boundary)
    return LogPage(found, after, partial)


def _newest_first(source: FromClause) -> tuple[ColumnElement[Any], ...]:
    return (source.c.timestamp.desc(), source.c.id.desc())


def _scan_boundary(
    conn: Connection, window: list[ColumnElement[bool]], scan: int
) -> Position | None:
    """The ``scan``-th record of the window newest first; None when it holds fewer."""
    last = conn.execute(
        select(log_records.c.timestamp, log_records.c.id)
        .where(*window)
        .order_by(log_records.c.timestamp.desc(), log_records.c.id.desc())
        .offset(scan - 1)
        .limit(1)
    ).first()
    return None if last is None else (float(last.timestamp), int(last.id))


def logs_stored_after(
    conn: Connection, project_id: int, query: LogQuery, after_id: int, limit: int
) -> list[StoredLog]:
    """The live tail: rows stored after row ``after_id`` (in the order they were stored, so
    a record with an old timestamp that arrives late is still shown), oldest first."""
    rows = conn.execute(
        select(log_records)
        .where(
            log_records.c.project_id == project_id,
            log_records.c.id > after_id,
            *_conditions(query),
        )
        .order_by(log_records.c.id)
        .limit(limit)
    )
    return [_stored(r._mapping) for r in rows]


def last_log_id(conn: Connection) -> int:
    """Where a live tail starts: the newest row stored (of any project: one primary key
    lookup, where the project's newest row could mean a long scan); 0 when none."""
    return int(conn.execute(select(func.max(log_records.c.id))).scalar() or 0)


def trace_logs(
    conn: Connection, project_ids: Sequence[int], trace_id: str, limit: int = 500
) -> list[StoredLog]:
    """The logs of one trace across projects, oldest first."""
    rows = conn.execute(
        select(log_records)
        .where(log_records.c.project_id.in_(project_ids), log_records.c.trace_id == trace_id)
        .order_by(log_records.c.timestamp, log_records.c.id)
        .limit(limit)
    )
    return [_stored(r._mapping) for r in rows]


def issues_of_traces(conn: Connection, project_id: int, trace_ids: set[str]) -> dict[str, int]:
    """The issue of an error event in each trace (the latest one when there are several)."""
    if not trace_ids:
        return {}
    rows = conn.execute(
        select(events.c.trace_id, events.c.group_id)
        .where(
            events.c.project_id == project_id,
            events.c.trace_id.in_(sorted(trace_ids)),
            events.c.group_id.is_not(None),
        )
        .order_by(events.c.timestamp)
    )
    return {r.trace_id: r.group_id for r in rows}


def traces_stored(conn: Connection, project_id: int, trace_ids: set[str]) -> set[str]:
    """Which of the traces have spans or events stored (a trace page to link to)."""
    if not trace_ids:
        return set()
    wanted = sorted(trace_ids)
    found = set(
        conn.scalars(
            select(spans.c.trace_id)
            .distinct()
            .where(spans.c.project_id == project_id, spans.c.trace_id.in_(wanted))
        )
    )
    found.update(
        conn.scalars(
            select(events.c.trace_id)
            .distinct()
            .where(events.c.project_id == project_id, events.c.trace_id.in_(wanted))
        )
    )
    return {str(t) for t in found}


def _stored(row: Any) -> StoredLog:
    return StoredLog(**{name: row[name] for name in StoredLog.__dataclass_fields__})

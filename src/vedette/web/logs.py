"""The Logs page: the API's log search in a search box, a level and a period filter, newest
first with a "next page" cursor; each row links to its trace (its page when spans or events of
it are stored, else its logs) and to the issue of an error in the same trace (docs/logs.md).
A search on an attribute or a word reads a bounded number of records: when it stops there,
the page says how far it read and offers to search older records from that point.
Its live tail asks ``logs/tail/`` for the rows stored since the last it showed."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection
from starlette.responses import Response

from vedette.api.logs import MAX_SCAN, log_json
from vedette.storage import logs
from vedette.storage.accounts import Project
from vedette.web.core import Page, WebCore
from vedette.web.format import project_base
from vedette.web.performance import PERIODS

PAGE_SIZE = 50


TAIL_SIZE = 200
Row = dict[str, Any]


def _search_state(page: Page) -> tuple[str, str, logs.LogQuery]:
    params = page.request.query_params
    text = params.get("query", "")
    level = params.get("level", "")
    level = level if level in logs.LEVELS else ""
    return text, level, logs.parse_log_query(f"{text} level:{level}" if level else text)


def _with_links(conn: Connection, project: Project, found: list[logs.StoredLog]) -> list[Row]:
    """The rows as the table shows them, with their issue and whether their trace has a page."""
    traces = {r.trace_id for r in found if r.trace_id}
    issues = logs.issues_of_traces(conn, project.id, traces)
    pages = logs.traces_stored(conn, project.id, traces)
    return [
        {
            **log_json(r),
            "unix": r.timestamp,
            "issue": issues.get(r.trace_id or ""),
            "trace_page": r.trace_id in pages,
        }
        for r in found
    ]


async def log_list(ui: WebCore, page: Page, project: Project) -> Response:
    text, level, query = _search_state(page)
    period = page.request.query_params.get("period", "24h")
    period = period if period in PERIODS else "24h"
    cursor = logs.parse_cursor(page.request.query_params.get("cursor", ""))
    scan = _scan_size(page.request.query_params.get("scan", ""))
    end = time.time()

    def load(conn: Connection) -> tuple[list[Row], logs.LogPage, int]:
        found = logs.search_logs(
            conn, project.id, query, end - PERIODS[period], end, PAGE_SIZE, cursor, scan
        )
        return _with_links(conn, project, found.rows), found, logs.last_log_id(conn)

    empty = logs.LogPage([], None)
    rows, found, tail_after = ([], empty, 0) if query.problems else await ui.read(load)
    after = found.next_cursor
    return ui.page(
        page,
        "logs.html",
        project=project,
        section="logs",
        base=project_base(project),
        state={"query": text, "level": level, "period": period},
        levels=logs.LEVELS,
        periods=list(PERIODS),
        problems=query.problems,
        rows=rows,
        next_cursor=logs.format_cursor(after) if after else None,
        partial=found.partial,
        continued=cursor is not None,
        scanned=scan,
        scanned_to=after[0] if after else None,
        scan_state={"scan": str(scan)} if scan != logs.SCAN_ROWS else {},
        tail_after=tail_after,
    )


def _scan_size(raw: str) -> int:
    """The records a bounded search reads (``scan=`` as in the API), SCAN_ROWS by default."""
    return min(int(raw), MAX_SCAN) if raw.isdigit() and int(raw) > 0 else logs.SCAN_ROWS


async def log_tail(ui: WebCore, page: Page, project: Project) -> Response:
    """Table rows (newest first) of the logs stored after row ``after`` that match the search;
    the header ``X-Tail-After`` says where the next call starts."""
    text, level, query = _search_state(page)
    try:
        after = max(0, int(page.request.query_params.get("after", "0")))
    except ValueError:
        after = 0

    def load(conn: Connection) -> tuple[list[Row], int]:
        found = logs.logs_stored_after(conn, project.id, query, after, TAIL_SIZE)
        return _with_links(conn, project, found[::-1]), max((r.id for r in found), default=after)

    rows, last = ([], after) if query.problems else await ui.read(load)
    response = ui.page(
        page,
        "_log_rows.html",
        base=project_base(project),
        state={"query": text, "level": level},
        rows=rows,
    )
    response.headers["X-Tail-After"] = str(last)
    return response

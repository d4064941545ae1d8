"""The Logs page: the API's log search in a search box, a level and a period filter, newest
first with a "next page" cursor; each row links to its trace (its page when spans or events of
it are stored, else its logs) and to the issue of an error in the same trace (docs/logs.md).
Its live tail asks ``logs/tail/`` for the rows stored since the last it showed."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection
from starlette.responses import Response

from vedette.api.logs import log_json
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
    end = time.time()

    def load(conn: Connection) -> tuple[list[Row], str | None, int]:
        found = logs.search_logs(
            conn, project.id, query, end - PERIODS[period], end, PAGE_SIZE, cursor
        )
        next_cursor = found[-1].cursor if len(found) == PAGE_SIZE else None
        return _with_links(conn, project, found), next_cursor, logs.last_log_id(conn)

    rows, next_cursor, tail_after = ([], None, 0) if query.problems else await ui.read(load)
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
        next_cursor=next_cursor,
        tail_after=tail_after,
    )


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

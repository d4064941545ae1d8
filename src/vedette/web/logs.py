"""The Logs page: the API's log search in a search box, a level and a period filter, newest
first with a "next page" cursor; each row links to its trace (its page when spans or events of
it are stored, else its logs) and to the issue of an error in the same trace (docs/logs.md)."""

from __future__ import annotations

import time

from sqlalchemy import Connection
from starlette.responses import Response

from vedette.api.logs import log_json
from vedette.storage import logs
from vedette.storage.accounts import Project
from vedette.web.core import Page, WebCore
from vedette.web.issues import project_base
from vedette.web.performance import PERIODS

PAGE_SIZE = 50


async def log_list(ui: WebCore, page: Page, project: Project) -> Response:
    params = page.request.query_params
    text = params.get("query", "")
    level = params.get("level", "")
    level = level if level in logs.LEVELS else ""
    period = params.get("period", "24h")
    period = period if period in PERIODS else "24h"
    query = logs.parse_log_query(f"{text} level:{level}" if level else text)
    cursor = logs.parse_cursor(params.get("cursor", ""))
    end = time.time()

    def load(conn: Connection) -> tuple[list[logs.StoredLog], dict[str, int], set[str]]:
        found = logs.search_logs(
            conn, project.id, query, end - PERIODS[period], end, PAGE_SIZE, cursor
        )
        traces = {r.trace_id for r in found if r.trace_id}
        return (
            found,
            logs.issues_of_traces(conn, project.id, traces),
            logs.traces_stored(conn, project.id, traces),
        )

    rows, issues, traces = ([], {}, set()) if query.problems else await ui.read(load)
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
        rows=[
            {
                **log_json(r),
                "unix": r.timestamp,
                "issue": issues.get(r.trace_id or ""),
                "trace_page": r.trace_id in traces,
            }
            for r in rows
        ],
        next_cursor=rows[-1].cursor if len(rows) == PAGE_SIZE else None,
    )

"""The Logs page: the API's log search in a search box, a level and a period filter, newest
first with a "next page" cursor; each row links to its trace (docs/logs.md)."""

from __future__ import annotations

import time

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
    rows = (
        []
        if query.problems
        else await ui.read(
            lambda c: logs.search_logs(
                c, project.id, query, end - PERIODS[period], end, PAGE_SIZE, cursor
            )
        )
    )
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
        rows=[{**log_json(r), "unix": r.timestamp} for r in rows],
        next_cursor=rows[-1].cursor if len(rows) == PAGE_SIZE else None,
    )

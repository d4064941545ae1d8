"""The Feedback page: what users wrote, from every source, newest first, each with the issue
of its event; and the feedback section of the issue page (docs/logs.md, "User feedback")."""

from __future__ import annotations

from starlette.responses import Response

from vedette.storage import feedback
from vedette.storage.accounts import Project
from vedette.web.core import Page, WebCore
from vedette.web.format import project_base

PAGE_SIZE = 25


async def feedback_list(ui: WebCore, page: Page, project: Project) -> Response:
    raw = page.request.query_params.get("offset", "0")
    offset = int(raw) if raw.isdigit() else 0
    rows = await ui.read(lambda c: feedback.list_feedback(c, project.id, PAGE_SIZE, offset))
    return ui.page(
        page,
        "feedback.html",
        project=project,
        section="feedback",
        base=project_base(project),
        rows=rows,
        next_offset=offset + PAGE_SIZE if len(rows) == PAGE_SIZE else None,
    )

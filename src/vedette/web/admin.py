"""Projects overview and project settings (DSN keys, Apdex threshold, data scrubbing:
web.privacy_page)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from starlette.responses import RedirectResponse, Response

from vedette.api.serialize import dsn
from vedette.storage import accounts, activity, audit, performance, users
from vedette.storage.accounts import Project
from vedette.storage.audit import AuditEvent
from vedette.web import charts
from vedette.web.core import Page, WebCore, WebError, form_label
from vedette.web.format import path_part, project_base
from vedette.web.privacy_page import PrivacyForm, load_privacy, preview, stored_event_text


def _org_filter(user: users.User) -> list[int] | None:
    return None if user.is_superuser else sorted(user.organization_ids)


@dataclass(frozen=True, slots=True)
class ProjectCard:
    project: accounts.ProjectSummary
    base: str
    dsn: str | None
    sparkline: str
    events_24h: int


async def projects(ui: WebCore, page: Page) -> Response:
    hour = int(time.time() // 3600)

    def load(
        conn: Connection,
    ) -> tuple[
        list[accounts.ProjectSummary],
        dict[int, dict[int, int]],
        dict[int, list[accounts.ProjectKeyRow]],
    ]:
        found = [
            p
            for p in accounts.list_projects(conn, _org_filter(page.user))
            if page.user.may_see_project(p.organization_id, p.id)
        ]
        ids = [p.id for p in found]
        keys = {p.id: accounts.keys_of_project(conn, p.id) for p in found}
        return found, activity.accepted_per_hour(conn, ids, hour - 23), keys

    found, per_hour, keys = await ui.read(load)
    cards = []
    for p in found:
        values = charts.series(per_hour.get(p.id, {}), hour - 23, 24)
        active = [k for k in keys[p.id] if k.is_active]
        cards.append(
            ProjectCard(
                project=p,
                base=f"/p/{path_part(p.organization_slug)}/{path_part(p.slug)}",
                dsn=dsn(ui.config.base_url, active[0].public_key, p.id) if active else None,
                sparkline=charts.sparkline(values, 240, 40),
                events_24h=sum(values),
            )
        )
    return ui.page(page, "projects.html", cards=cards, section="projects")


# -- project settings -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyLine:
    key: accounts.ProjectKeyRow
    dsn: str


async def project_settings(
    ui: WebCore, page: Page, project: Project, pasted: str | None = None
) -> Response:
    """Keys, Apdex and data scrubbing; with ``pasted`` (an event's JSON), the preview of what
    the scrubbing rules in force would remove from it."""

    def load(conn: Connection) -> tuple[list[accounts.ProjectKeyRow], float, PrivacyForm]:
        threshold = performance.apdex_thresholds(conn, [project.id])[project.id]
        return accounts.keys_of_project(conn, project.id), threshold, load_privacy(conn, project)

    keys, threshold, privacy_form = await ui.read(load)
    return ui.page(
        page,
        "project_settings.html",
        project=project,
        section="settings",
        base=project_base(project),
        keys=[KeyLine(k, dsn(ui.config.base_url, k.public_key, project.id)) for k in keys],
        apdex_threshold=threshold,
        privacy=privacy_form,
        pasted=pasted or "",
        preview=None if pasted is None else preview(privacy_form, pasted),
    )


async def preview_privacy(ui: WebCore, page: Page, project: Project) -> Response:
    """The preview of a pasted event, or of a stored one picked by its id."""
    pasted, event_id = page.form.get("event"), page.form.get("event_id").strip()
    if event_id and not pasted.strip():
        pasted = await ui.read(lambda c: stored_event_text(c, project, event_id))
    return await project_settings(ui, page, project, pasted)


async def create_key(ui: WebCore, page: Page, project: Project) -> Response:
    label = form_label(page, "Default")

    def apply(conn: Connection) -> None:
        key = accounts.create_key(conn, project.id, label)
        _audit(conn, page, project, AuditEvent.KEY_ADD, f"{key} ({label})")

    await ui.write(apply)
    return RedirectResponse(project_base(project) + "/settings/", 303)


async def set_key_active(ui: WebCore, page: Page, project: Project) -> Response:
    public_key = page.request.path_params["key"]
    active = page.form.get("active") == "1"

    def apply(conn: Connection) -> bool:
        done = accounts.update_key(conn, project.id, public_key, is_active=active)
        if done:
            _audit(conn, page, project, AuditEvent.KEY_EDIT, public_key, {"isActive": active})
        return done

    if not await ui.write(apply):
        raise WebError(404, "There is no such key in this project.")
    ui.config.on_key_change(public_key)
    return RedirectResponse(project_base(project) + "/settings/", 303)


async def set_key_rate_limit(ui: WebCore, page: Page, project: Project) -> Response:
    public_key = page.request.path_params["key"]
    count, window = page.form.get("count").strip(), page.form.get("window").strip()
    limit = None
    if count:
        if not (count.isdigit() and window.isdigit()):
            raise WebError(400, "A rate limit is a number of events (1 or more) per window.")
        try:
            limit = accounts.RateLimit(int(count), int(window))
        except ValueError:
            raise WebError(
                400,
                "A rate limit is 1 or more events per window of 1 to"
                f" {accounts.MAX_RATE_LIMIT_WINDOW} seconds.",
            ) from None
    values = accounts.RateLimit.columns(limit)
    change = {
        "rateLimit": None if limit is None else {"count": limit.count, "window": limit.window}
    }

    def apply(conn: Connection) -> bool:
        done = accounts.update_key(conn, project.id, public_key, **values)
        if done:
            _audit(conn, page, project, AuditEvent.KEY_EDIT, public_key, change)
        return done

    if not await ui.write(apply):
        raise WebError(404, "There is no such key in this project.")
    ui.config.on_key_change(public_key)
    return RedirectResponse(project_base(project) + "/settings/", 303)


async def delete_key(ui: WebCore, page: Page, project: Project) -> Response:
    public_key = page.request.path_params["key"]

    def apply(conn: Connection) -> bool:
        done = accounts.delete_key(conn, project.id, public_key)
        if done:
            _audit(conn, page, project, AuditEvent.KEY_REMOVE, public_key)
        return done

    if not await ui.write(apply):
        raise WebError(404, "There is no such key in this project.")
    ui.config.on_key_change(public_key)
    return RedirectResponse(project_base(project) + "/settings/", 303)


async def set_apdex(ui: WebCore, page: Page, project: Project) -> Response:
    raw = page.form.get("threshold").strip()
    try:
        threshold = float(raw)
    except ValueError:
        threshold = 0.0
    if not 0 < threshold <= 600_000:
        raise WebError(400, "The Apdex threshold is a number of milliseconds above 0.")

    def apply(conn: Connection) -> None:
        performance.set_apdex_threshold(conn, project.id, threshold)
        _audit(conn, page, project, AuditEvent.PROJECT_EDIT, project.slug,
               {"apdexThreshold": threshold})  # fmt: skip

    await ui.write(apply)
    return RedirectResponse(project_base(project) + "/settings/", 303)


def _audit(
    conn: Connection,
    page: Page,
    project: Project,
    event: AuditEvent,
    target: str,
    data: dict[str, Any] | None = None,
) -> None:
    audit.record(conn, project.organization_id, page.actor, event, f"{project.slug}: {target}",
                 time.time(), data)  # fmt: skip

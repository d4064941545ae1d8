"""Uptime pages: the monitors of a project (90-day bars, latency), one monitor with its checks,
and an organisation's public status page (no login; names and states, never URLs)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vedette.storage import accounts, uptime_queries
from vedette.storage import uptime as storage
from vedette.storage.accounts import Project
from vedette.storage.uptime import CheckRow, StatusPage, UptimeMonitor
from vedette.uptime import issues
from vedette.uptime.history import (
    BAR_SLOT,
    DAY,
    HISTORY_DAYS,
    HOUR,
    DayBar,
    LatencyChart,
    day_bars,
    latency_chart,
    uptime_percent,
)
from vedette.uptime.spec import METHODS, MonitorSpec, SpecError, config_values, spec_of, validated
from vedette.web.core import Page, WebCore, WebError
from vedette.web.format import project_base

CHECKS_SHOWN = 50
LATENCY_HOURS = 48
_FIELDS = (
    "name", "url", "method", "headers", "body", "status_min", "status_max", "body_contains",
    "interval", "timeout", "environment", "threshold",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MonitorLine:
    monitor: UptimeMonitor
    url: str  # the page of the monitor
    bars: list[DayBar]
    uptime: str  # over the 90 days
    latency: LatencyChart


def _lines(conn: Connection, monitors: list[UptimeMonitor], base: str) -> list[MonitorLine]:
    now = time.time()
    ids = [m.id for m in monitors]
    days = uptime_queries.daily(conn, ids, now - HISTORY_DAYS * DAY)
    hours = uptime_queries.hourly(conn, ids, now - LATENCY_HOURS * HOUR)
    return [
        MonitorLine(
            m,
            f"{base}/uptime/{m.id}/",
            day_bars(days.get(m.id, []), now),
            uptime_percent(days.get(m.id, [])),
            latency_chart(hours.get(m.id, []), now, LATENCY_HOURS),
        )
        for m in monitors
    ]


async def monitor_list(ui: WebCore, page: Page, project: Project) -> Response:
    return await _list_page(ui, page, project, _blank(), None)


async def _list_page(
    ui: WebCore, page: Page, project: Project, form: dict[str, str], problem: str | None
) -> Response:
    base = project_base(project)

    def load(conn: Connection) -> tuple[list[MonitorLine], StatusPage | None]:
        lines = _lines(conn, storage.monitors_of_project(conn, project.id), base)
        return lines, storage.get_status_page(conn, project.organization_id)

    lines, status_page = await ui.read(load)
    return ui.page(
        page,
        "uptime.html",
        http_status=400 if problem else 200,
        project=project,
        section="uptime",
        base=base,
        lines=lines,
        width=HISTORY_DAYS * BAR_SLOT,
        status_page=status_page,
        form=form,
        methods=METHODS,
        problem=problem,
    )


async def create_monitor(ui: WebCore, page: Page, project: Project) -> Response:
    form = _form(page)
    try:
        values = config_values(spec_from_form(form))
    except SpecError as error:
        return await _list_page(ui, page, project, form, str(error))
    monitor_id = await ui.write(
        lambda c: storage.create_monitor(c, project.id, values, time.time())
    )
    return RedirectResponse(f"{project_base(project)}/uptime/{monitor_id}/", 303)


async def monitor_detail(ui: WebCore, page: Page, project: Project) -> Response:
    monitor = await _monitor(ui, page, project)
    return await _detail_page(ui, page, project, monitor, form_of(monitor), None)


async def _detail_page(
    ui: WebCore,
    page: Page,
    project: Project,
    monitor: UptimeMonitor,
    form: dict[str, str],
    problem: str | None,
) -> Response:
    base = project_base(project)

    def load(conn: Connection) -> tuple[MonitorLine, list[CheckRow]]:
        [line] = _lines(conn, [monitor], base)
        return line, storage.recent_checks(conn, monitor.id, CHECKS_SHOWN)

    line, checks = await ui.read(load)
    return ui.page(
        page,
        "uptime_monitor.html",
        http_status=400 if problem else 200,
        project=project,
        section="uptime",
        base=base,
        line=line,
        checks=checks,
        width=HISTORY_DAYS * BAR_SLOT,
        form=form,
        methods=METHODS,
        problem=problem,
    )


async def update_monitor(ui: WebCore, page: Page, project: Project) -> Response:
    monitor = await _monitor(ui, page, project)
    form = _form(page)
    try:
        values = config_values(spec_from_form(form))
    except SpecError as error:
        return await _detail_page(ui, page, project, monitor, form, str(error))
    await ui.write(lambda c: storage.update_monitor(c, monitor.id, values, time.time()))
    return RedirectResponse(f"{project_base(project)}/uptime/{monitor.id}/", 303)


async def delete_monitor(ui: WebCore, page: Page, project: Project) -> Response:
    monitor = await _monitor(ui, page, project)
    await ui.write(lambda c: issues.delete_monitor(c, monitor, time.time()))
    return RedirectResponse(f"{project_base(project)}/uptime/", 303)


async def set_status_page(ui: WebCore, page: Page, project: Project) -> Response:
    """The organisation's status page on or off, and its title."""
    enabled = page.form.get("enabled") == "on"
    title = page.form.get("title").strip()[:200] or f"{project.organization_slug} status"
    await ui.write(lambda c: storage.set_status_page(c, project.organization_id, enabled, title))
    return RedirectResponse(f"{project_base(project)}/uptime/", 303)


async def public_status(ui: WebCore, request: Request) -> Response:
    """Anyone may read it once the organisation enabled it; 404 otherwise."""
    slug = request.path_params["org"]

    def load(conn: Connection) -> tuple[StatusPage, list[MonitorLine]] | None:
        org_id = accounts.organization_id(conn, slug)
        status_page = None if org_id is None else storage.get_status_page(conn, org_id)
        if org_id is None or status_page is None or not status_page.enabled:
            return None
        return status_page, _lines(conn, storage.public_monitors(conn, org_id), "")

    found = await ui.read(load)
    if found is None:
        return ui.render(
            request,
            "error.html",
            {"status": 404, "message": "There is no public status page here."},
            404,
        )
    status_page, lines = found
    down = [line for line in lines if line.monitor.state == "down"]
    return ui.render(
        request,
        "status_page.html",
        {
            "status_page": status_page,
            "lines": lines,
            "down": down,
            "width": HISTORY_DAYS * BAR_SLOT,
        },
    )


async def _monitor(ui: WebCore, page: Page, project: Project) -> UptimeMonitor:
    monitor_id = int(page.request.path_params["monitor_id"])
    monitor = await ui.read(lambda c: storage.get_monitor(c, monitor_id))
    if monitor is None or monitor.project_id != project.id:
        raise WebError(404, "There is no such uptime monitor in this project.")
    return monitor


# --- the form -----------------------------------------------------------------------------------


def _blank() -> dict[str, str]:
    return form_of_spec(MonitorSpec(name="", url=""))


def _form(page: Page) -> dict[str, str]:
    values = {name: page.form.get(name)[:70_000] for name in _FIELDS}
    values["follow_redirects"] = "on" if page.form.get("follow_redirects") == "on" else ""
    values["public"] = "on" if page.form.get("public") == "on" else ""
    return values


def form_of(monitor: UptimeMonitor) -> dict[str, str]:
    return form_of_spec(spec_of(monitor))


def form_of_spec(spec: MonitorSpec) -> dict[str, str]:
    return {
        "name": spec.name,
        "url": spec.url,
        "method": spec.method,
        "headers": "\n".join(f"{k}: {v}" for k, v in spec.headers),
        "body": spec.body or "",
        "status_min": str(spec.status_min),
        "status_max": str(spec.status_max),
        "body_contains": spec.body_contains or "",
        "interval": str(spec.interval_seconds),
        "timeout": str(spec.timeout_ms),
        "environment": spec.environment or "",
        "threshold": str(spec.failure_threshold),
        "follow_redirects": "on" if spec.follow_redirects else "",
        "public": "on" if spec.public else "",
    }


def spec_from_form(form: dict[str, str]) -> MonitorSpec:
    """The monitor of a submitted form, or SpecError saying what is wrong."""
    headers = []
    for line in form.get("headers", "").splitlines():
        if line.strip():
            name, colon, value = line.partition(":")
            if not colon:
                raise SpecError(f"a header line must read 'Name: value', not {line.strip()!r}")
            headers.append((name.strip(), value.strip()))
    return validated(
        MonitorSpec(
            name=form.get("name", ""),
            url=form.get("url", ""),
            method=form.get("method", "GET"),
            headers=tuple(headers),
            body=form.get("body") or None,
            status_min=_number(form, "status_min"),
            status_max=_number(form, "status_max"),
            body_contains=form.get("body_contains") or None,
            interval_seconds=_number(form, "interval"),
            timeout_ms=_number(form, "timeout"),
            follow_redirects=form.get("follow_redirects") == "on",
            environment=form.get("environment") or None,
            failure_threshold=_number(form, "threshold"),
            public=form.get("public") == "on",
        )
    )


def _number(form: dict[str, Any], key: str) -> int:
    try:
        return int(form.get(key, "").strip())
    except ValueError:
        raise SpecError(f"{key.replace('_', ' ')} must be a whole number") from None

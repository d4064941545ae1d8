"""Uptime monitors in Sentry's paths: ``/api/0/projects/{org}/{project}/uptime/`` and below."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, json_object, json_response
from vedette.api.serialize import iso
from vedette.storage import uptime as storage
from vedette.storage.accounts import Project
from vedette.storage.tokens import TokenGrant
from vedette.storage.uptime import CheckRow, UptimeMonitor
from vedette.uptime import issues
from vedette.uptime.spec import (
    MonitorSpec,
    SpecError,
    config_values,
    spec_from_json,
    spec_json,
    spec_of,
)

_NOT_FOUND = "The requested resource does not exist"
_UPTIME_STATUS = {"pending": "pending", "up": "ok", "down": "failed"}
MAX_CHECKS = 100


def monitor_json(monitor: UptimeMonitor, project: Project) -> dict[str, Any]:
    return {
        "id": str(monitor.id),
        "projectSlug": project.slug,
        **spec_json(spec_of(monitor)),
        "status": "active",
        "uptimeStatus": _UPTIME_STATUS.get(monitor.state, monitor.state),
        "lastCheckedAt": iso(monitor.last_checked_at),
        "issueId": None if monitor.issue_id is None else str(monitor.issue_id),
        "dateCreated": iso(monitor.created_at),
    }


def check_json(check: CheckRow) -> dict[str, Any]:
    return {
        "timestamp": iso(check.checked_at),
        "checkStatus": "success" if check.ok else "failure",
        "checkStatusReason": check.error_class,
        "detail": check.error,
        "httpStatusCode": check.status_code,
        "durationMs": round(check.latency_ms),
        "certificateExpiresAt": iso(check.certificate_expires_at),
    }


class UptimeEndpoints:
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        p = "/api/0/projects/{org}/{project}/uptime"
        wrap = self._access.wrap
        return [
            Route(f"{p}/", wrap(self.monitors), methods=["GET", "POST"]),
            Route(f"{p}/{{monitor_id:int}}/", wrap(self.monitor), methods=["GET", "PUT", "DELETE"]),
            Route(f"{p}/{{monitor_id:int}}/checks/", wrap(self.checks)),
        ]

    async def monitors(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        if request.method == "POST":
            values = config_values(_spec(await json_object(request)))
            monitor_id = await self._access.write(
                lambda c: storage.create_monitor(c, project.id, values, time.time())
            )
            created = await self._access.read(lambda c: storage.get_monitor(c, monitor_id))
            assert created is not None
            return json_response(monitor_json(created, project), 201)
        found = await self._access.read(lambda c: storage.monitors_of_project(c, project.id))
        return json_response([monitor_json(m, project) for m in found])

    async def monitor(self, request: Request, grant: TokenGrant) -> Response:
        project, monitor = await self._monitor(request, grant)
        if request.method == "DELETE":
            await self._access.write(lambda c: issues.delete_monitor(c, monitor, time.time()))
            return Response(status_code=204)
        if request.method == "PUT":
            values = config_values(_spec(await json_object(request), spec_of(monitor)))
            await self._access.write(
                lambda c: storage.update_monitor(c, monitor.id, values, time.time())
            )
            project, monitor = await self._monitor(request, grant)
        return json_response(monitor_json(monitor, project))

    async def checks(self, request: Request, grant: TokenGrant) -> Response:
        _, monitor = await self._monitor(request, grant)
        found = await self._access.read(lambda c: storage.recent_checks(c, monitor.id, MAX_CHECKS))
        return json_response([check_json(c) for c in found])

    async def _monitor(self, request: Request, grant: TokenGrant) -> tuple[Project, UptimeMonitor]:
        project = await self._access.project(request, grant)
        monitor_id = int(request.path_params["monitor_id"])
        monitor = await self._access.read(lambda c: storage.get_monitor(c, monitor_id))
        if monitor is None or monitor.project_id != project.id:
            raise ApiError(404, _NOT_FOUND)
        return project, monitor


def _spec(data: dict[str, Any], base: MonitorSpec | None = None) -> MonitorSpec:
    try:
        return spec_from_json(data, base)
    except SpecError as error:
        raise ApiError(400, str(error)) from None

"""Project and organization details with their data scrubbing settings, in Sentry's shape.

``GET|PUT /api/0/projects/{org}/{project}/`` and ``GET|PUT /api/0/organizations/{org}/`` carry
``dataScrubber``, ``dataScrubberDefaults``, ``scrubIPAddresses``, ``sensitiveFields``,
``safeFields`` and ``relayPiiConfig`` (JSON text, as Sentry sends it). A PUT changes the fields
it sends; a refused field answers 400 naming it. Each level shows its own settings; the worker
applies both (a project cannot loosen its organization's: processing.privacy_settings).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.access import ApiAccess, authorize
from vedette.api.http import ApiError, json_object, json_response
from vedette.processing.privacy_settings import (
    ORGANIZATION_DEFAULTS,
    PROJECT_DEFAULTS,
    PrivacySettings,
    SettingsError,
    from_stored,
    updated,
)
from vedette.storage import audit, privacy
from vedette.storage.accounts import Project
from vedette.storage.audit import AuditEvent
from vedette.storage.privacy import Organization
from vedette.storage.tokens import TokenGrant

NOT_FOUND = "The requested resource does not exist"


def _changed(current: PrivacySettings, body: dict[str, Any]) -> PrivacySettings:
    try:
        return updated(current, body)
    except SettingsError as error:
        raise ApiError(400, f"{error.field}: {error}") from None


def organization_json(organization: Organization) -> dict[str, Any]:
    return {"id": str(organization.id), "slug": organization.slug, "name": organization.name}


def project_json(project: Project, settings: PrivacySettings) -> dict[str, Any]:
    return {
        "id": str(project.id),
        "slug": project.slug,
        "name": project.name,
        "organization": {"id": str(project.organization_id), "slug": project.organization_slug},
        **settings.to_api(),
    }


class ProjectSettingsEndpoints:
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        return [
            Route(
                "/api/0/projects/{org}/{project}/",
                self._access.wrap(self.project),
                methods=["GET", "PUT"],
            ),
            Route(
                "/api/0/organizations/{org}/",
                self._access.wrap(self.organization),
                methods=["GET", "PUT"],
            ),
        ]

    async def project(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        body = await json_object(request) if request.method == "PUT" else None

        def apply(conn: Connection) -> PrivacySettings:
            current = from_stored(privacy.project_options(conn, project.id), PROJECT_DEFAULTS)
            if body is None:
                return current
            changed = _changed(current, body)
            privacy.save_project_options(conn, project.id, changed.to_api(), time.time())
            target = f"{project.slug}: data scrubbing"
            audit.record(conn, project.organization_id, audit.API_TOKEN, AuditEvent.PROJECT_EDIT,
                         target, time.time(), changed.to_api())  # fmt: skip
            return changed

        run = self._access.read if body is None else self._access.write
        return json_response(project_json(project, await run(apply)))

    async def organization(self, request: Request, grant: TokenGrant) -> Response:
        slug = request.path_params["org"]
        organization = await self._access.read(lambda c: privacy.find_organization(c, slug))
        if organization is None:
            raise ApiError(404, NOT_FOUND)
        authorize(grant, organization.id)
        body = await json_object(request) if request.method == "PUT" else None
        org_id = organization.id

        def apply(conn: Connection) -> PrivacySettings:
            stored = privacy.organization_options(conn, org_id)
            current = from_stored(stored, ORGANIZATION_DEFAULTS)
            if body is None:
                return current
            changed = _changed(current, body)
            privacy.save_organization_options(conn, org_id, changed.to_api(), time.time())
            audit.record(conn, org_id, audit.API_TOKEN, AuditEvent.PROJECT_EDIT,
                         "organization: data scrubbing", time.time(), changed.to_api())  # fmt: skip
            return changed

        run = self._access.read if body is None else self._access.write
        settings = await run(apply)
        return json_response({**organization_json(organization), **settings.to_api()})

"""``GET /api/0/organizations/{org}/audit-logs/``: the organisation's audit log, newest first,
in Sentry's shape (``rows`` and ``options``); ``cursor`` pages back (docs/workflow.md, "Audit
log")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api import serialize
from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, json_response
from vedette.storage import audit
from vedette.storage.audit import AuditEntry, AuditEvent
from vedette.storage.tokens import TokenGrant

PAGE = 100


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "actor": {"name": entry.actor, "id": None if entry.actor_user_id is None
                  else str(entry.actor_user_id)},
        "event": entry.event,
        "note": entry.target,
        "data": entry.data,
        "ipAddress": None,
        "targetObject": None,
        "dateCreated": serialize.iso(entry.created_at),
    }  # fmt: skip


class AuditLogEndpoints:
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        return [Route("/api/0/organizations/{org}/audit-logs/", self._access.wrap(self.logs))]

    async def logs(self, request: Request, grant: TokenGrant) -> Response:
        org_id = await self._access.organization(request, grant)
        cursor = request.query_params.get("cursor", "")
        if cursor and not cursor.isdigit():
            raise ApiError(400, "cursor must be an entry id")
        before = int(cursor) if cursor else None
        rows = await self._access.read(lambda c: audit.entries(c, org_id, PAGE, before))
        return json_response({"rows": [entry_json(r) for r in rows], "options": list(AuditEvent)})

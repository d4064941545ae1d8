"""Alert rules in Sentry's paths: ``/api/0/projects/{org}/{project}/rules/`` and below."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.alerts.evaluate import queue_test_notification
from vedette.alerts.rule_input import rule_json, spec_from_json
from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, json_object, json_response
from vedette.api.serialize import iso
from vedette.domain.alert_rules import Rule, RuleError, RuleSpec
from vedette.domain.short_ids import short_id
from vedette.storage import alert_facts, alert_outbox, alert_rules, audit
from vedette.storage.accounts import Project
from vedette.storage.audit import AuditEvent
from vedette.storage.tokens import TokenGrant

_NOT_FOUND = "The requested resource does not exist"
HISTORY_DAYS = 14  # Sentry's group history looks back two weeks by default


class AlertEndpoints:
    def __init__(self, access: ApiAccess, base_url: str) -> None:
        self._access = access
        self._base_url = base_url

    def routes(self) -> list[Route]:
        p = "/api/0/projects/{org}/{project}/rules"
        wrap = self._access.wrap
        return [
            Route(f"{p}/", wrap(self.rules), methods=["GET", "POST"]),
            Route(f"{p}/{{rule_id:int}}/", wrap(self.rule), methods=["GET", "PUT", "DELETE"]),
            Route(f"{p}/{{rule_id:int}}/group-history/", wrap(self.group_history)),
            Route(f"{p}/{{rule_id:int}}/deliveries/", wrap(self.deliveries)),
            Route(f"{p}/{{rule_id:int}}/test/", wrap(self.test), methods=["POST"]),
        ]

    async def rules(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        if request.method == "POST":
            spec = _spec(await json_object(request))

            def create(conn: Connection) -> int:
                rule_id = alert_rules.create_rule(conn, project.id, spec)
                _audit(conn, project, AuditEvent.RULE_ADD, spec.name)
                return rule_id

            rule_id = await self._access.write(create)
            rule = await self._access.read(lambda c: alert_rules.get_rule(c, rule_id))
            assert rule is not None
            return json_response(rule_json(rule), 201)
        rules = await self._access.read(lambda c: alert_rules.rules_of_projects(c, [project.id]))
        return json_response([rule_json(r) for r in rules])

    async def rule(self, request: Request, grant: TokenGrant) -> Response:
        project, rule = await self._rule(request, grant)
        if request.method == "DELETE":

            def delete(conn: Connection) -> None:
                alert_rules.delete_rule(conn, rule.id)
                _audit(conn, project, AuditEvent.RULE_REMOVE, rule.spec.name)

            await self._access.write(delete)
            return Response(status_code=204)
        if request.method == "PUT":
            spec = _spec(await json_object(request))

            def update(conn: Connection) -> None:
                alert_rules.update_rule(conn, rule.id, spec)
                _audit(conn, project, AuditEvent.RULE_EDIT, spec.name)

            await self._access.write(update)
            _, rule = await self._rule(request, grant)
        return json_response(rule_json(rule))

    async def group_history(self, request: Request, grant: TokenGrant) -> Response:
        """Which issues fired the rule in the last two weeks, as Sentry's endpoint answers."""
        project, rule = await self._rule(request, grant)

        def load(conn: Connection) -> list[dict[str, Any]]:
            since = time.time() - HISTORY_DAYS * 86400
            history = alert_outbox.group_history(conn, rule.id, since)
            facts = alert_facts.issue_facts(conn, [h.group_id for h in history])
            return [
                {
                    "group": _issue_json(facts[h.group_id], project),
                    "count": h.count,
                    "lastTriggered": iso(h.last_triggered),
                    "eventId": h.event_id,
                }
                for h in history
                if h.group_id in facts
            ]

        return json_response(await self._access.read(load))

    async def deliveries(self, request: Request, grant: TokenGrant) -> Response:
        """Every notification of the rule, newest first, with each delivery attempt."""
        _, rule = await self._rule(request, grant)
        rows = await self._access.read(lambda c: alert_outbox.deliveries(c, rule.id))
        return json_response(
            [
                {
                    "id": d.uid,
                    "target": d.target,
                    "kind": d.kind,
                    "title": d.title,
                    "status": d.status,
                    "dateCreated": iso(d.created_at),
                    "dateFinished": iso(d.finished_at),
                    "lastError": d.last_error,
                    "attempts": [
                        {
                            "date": iso(a.attempted_at),
                            "statusCode": a.status_code,
                            "error": a.error,
                            "duration": round(a.duration, 4),
                        }
                        for a in d.attempts
                    ],
                }
                for d in rows
            ]
        )

    async def test(self, request: Request, grant: TokenGrant) -> Response:
        """Queue a test notification to every target of the rule (see ``deliveries``)."""
        _, rule = await self._rule(request, grant)
        now = time.time()
        await self._access.write(lambda c: queue_test_notification(c, rule, self._base_url, now))
        return json_response({"queued": len(rule.spec.actions)}, 202)

    async def _rule(self, request: Request, grant: TokenGrant) -> tuple[Project, Rule]:
        project = await self._access.project(request, grant)
        rule_id = int(request.path_params["rule_id"])
        rule = await self._access.read(lambda c: alert_rules.get_rule(c, rule_id))
        if rule is None or rule.project_id != project.id:
            raise ApiError(404, _NOT_FOUND)
        return project, rule


def _spec(body: dict[str, Any]) -> RuleSpec:
    try:
        return spec_from_json(body)
    except RuleError as error:
        raise ApiError(400, str(error)) from None


def _issue_json(issue: alert_facts.IssueFacts, project: Project) -> dict[str, Any]:
    return {
        "id": str(issue.id),
        "shortId": short_id(project.slug, issue.short_id),
        "title": issue.title,
        "culprit": issue.culprit,
        "level": issue.level,
        "status": issue.status,
        "count": str(issue.times_seen),
        "userCount": issue.user_count,
        "firstSeen": iso(issue.first_seen),
        "lastSeen": iso(issue.last_seen),
    }


def _audit(conn: Connection, project: Project, event: AuditEvent, name: str) -> None:
    audit.record(conn, project.organization_id, audit.API_TOKEN, event,
                 f"{project.slug}: {name}", time.time())  # fmt: skip

"""Alert rules in the UI: the list, a form to create or edit one, a rule's page with its
delivery history and the issues it fired for, and "send test notification"; and the ignore
options (snooze) of the issue page."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection
from starlette.responses import RedirectResponse, Response

from vedette.alerts.evaluate import queue_test_notification
from vedette.alerts.rule_input import build_spec
from vedette.api.issue_changes import Actor, set_status
from vedette.domain.alert_rules import Metric, Rule, RuleError, RuleSpec, Trigger
from vedette.domain.events import IssueStatus
from vedette.domain.short_ids import short_id
from vedette.storage import alert_facts, alert_outbox, alert_rules, audit
from vedette.storage.accounts import Project
from vedette.storage.audit import AuditEvent
from vedette.web.core import Page, WebCore, WebError
from vedette.web.format import project_base
from vedette.web.snooze_options import SNOOZES

TRIGGER_LABELS = {
    Trigger.NEW_ISSUE: "A new issue appears",
    Trigger.REGRESSION: "A resolved issue comes back",
    Trigger.FREQUENCY: "An issue reaches N events within a window",
    Trigger.USERS: "An issue reaches N users within a window",
    Trigger.SPIKE: "An issue's events spike against its own baseline",
    Trigger.CRON: "A cron monitor fails, misses a check-in or times out",
    Trigger.METRIC: "A transaction metric crosses a threshold",
    Trigger.UPTIME: "An uptime monitor goes down (and when it recovers)",
    Trigger.FEEDBACK: "A user sends feedback",
}


@dataclass(frozen=True, slots=True)
class RuleLine:
    rule: Rule
    url: str


def _rules_url(project: Project) -> str:
    return f"{project_base(project)}/alerts/"


async def rule_list(ui: WebCore, page: Page, project: Project) -> Response:
    blank = dict.fromkeys(_FIELDS, "") | {"when": "new_issue", "interval": "1800", "digest": "0"}
    return await _list_page(ui, page, project, blank, None)


async def _list_page(
    ui: WebCore,
    page: Page,
    project: Project,
    form: dict[str, str],
    problem: str | None,
) -> Response:
    rules = await ui.read(lambda c: alert_rules.rules_of_projects(c, [project.id]))
    return ui.page(
        page,
        "alerts.html",
        http_status=400 if problem else 200,
        project=project,
        section="alerts",
        base=project_base(project),
        rules=[RuleLine(r, f"{_rules_url(project)}{r.id}/") for r in rules],
        triggers=TRIGGER_LABELS,
        metrics=[m.value for m in Metric],
        form=form,
        problem=problem,
    )


_FIELDS = (
    "name",
    "when",
    "threshold",
    "warning",
    "window",
    "min_count",
    "metric",
    "transaction",
    "filter",
    "interval",
    "digest",
    "targets",
    "secret",
)


def _spec_from_form(form: dict[str, str]) -> RuleSpec:
    targets = [line.strip() for line in form.get("targets", "").splitlines() if line.strip()]
    secret = form.get("secret", "").strip() or None
    return build_spec(
        name=form.get("name", ""),
        when=form.get("when", ""),
        notify=[
            {"target": t, "secret": secret if t.startswith("webhook:") else None} for t in targets
        ],
        threshold=_number(form, "threshold", float),
        warning=_number(form, "warning", float),
        window=_number(form, "window", int),
        min_count=_number(form, "min_count", int),
        metric=form.get("metric") or None,
        transaction=form.get("transaction") or None,
        filter_query=form.get("filter", ""),
        interval=_number(form, "interval", int),
        digest=_number(form, "digest", int) or 0,
    )


def _number(form: dict[str, str], key: str, kind: type[int] | type[float]) -> Any:
    raw = form.get(key, "").strip()
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise RuleError(f"{key.replace('_', ' ')} must be a number") from None


def _form(page: Page) -> dict[str, str]:
    return {name: page.form.get(name)[:10_000] for name in _FIELDS}


async def create_rule(ui: WebCore, page: Page, project: Project) -> Response:
    form = _form(page)
    try:
        spec = _spec_from_form(form)
    except RuleError as error:
        return await _list_page(ui, page, project, form, str(error))

    def create(conn: Connection) -> int:
        rule_id = alert_rules.create_rule(conn, project.id, spec)
        _audit(conn, page, project, AuditEvent.RULE_ADD, spec.name)
        return rule_id

    rule_id = await ui.write(create)
    return RedirectResponse(f"{_rules_url(project)}{rule_id}/", 303)


async def _rule(ui: WebCore, page: Page, project: Project) -> Rule:
    rule_id = int(page.request.path_params["rule_id"])
    rule = await ui.read(lambda c: alert_rules.get_rule(c, rule_id))
    if rule is None or rule.project_id != project.id:
        raise WebError(404, "There is no such alert rule in this project.")
    return rule


def _form_of(rule: Rule) -> dict[str, str]:
    spec = rule.spec

    def text(value: object) -> str:
        if value is None:
            return ""
        return f"{value:g}" if isinstance(value, float) else str(value)

    return {
        "name": spec.name,
        "when": spec.trigger.value,
        "threshold": text(spec.threshold),
        "warning": text(spec.warning_threshold),
        "window": text(spec.window_seconds),
        "min_count": text(spec.min_count),
        "metric": "" if spec.metric is None else spec.metric.value,
        "transaction": spec.transaction or "",
        "filter": spec.filter_query,
        "interval": str(spec.interval_seconds),
        "digest": str(spec.digest_seconds),
        "targets": "\n".join(a.target for a in spec.actions),
        "secret": "",
    }


async def rule_detail(ui: WebCore, page: Page, project: Project) -> Response:
    rule = await _rule(ui, page, project)
    return await _detail_page(ui, page, project, rule, _form_of(rule), None)


async def _detail_page(
    ui: WebCore,
    page: Page,
    project: Project,
    rule: Rule,
    form: dict[str, str],
    problem: str | None,
) -> Response:
    def load(conn: Connection) -> tuple[Any, Any, Any]:
        history = alert_outbox.group_history(conn, rule.id, time.time() - 14 * 86400)
        facts = alert_facts.issue_facts(conn, [h.group_id for h in history])
        return alert_outbox.deliveries(conn, rule.id), history, facts

    deliveries, history, facts = await ui.read(load)
    issues = [
        {
            "url": f"{project_base(project)}/issues/{h.group_id}/",
            "short_id": short_id(project.slug, facts[h.group_id].short_id),
            "title": facts[h.group_id].title,
            "count": h.count,
            "last": h.last_triggered,
        }
        for h in history
        if h.group_id in facts
    ]
    return ui.page(
        page,
        "alert_rule.html",
        http_status=400 if problem else 200,
        project=project,
        section="alerts",
        base=project_base(project),
        rule=rule,
        rule_url=f"{_rules_url(project)}{rule.id}/",
        triggers=TRIGGER_LABELS,
        metrics=[m.value for m in Metric],
        form=form,
        problem=problem,
        deliveries=deliveries,
        issues=issues,
    )


async def update_rule(ui: WebCore, page: Page, project: Project) -> Response:
    rule = await _rule(ui, page, project)
    form = _form(page)
    try:
        spec = _spec_from_form(form)
    except RuleError as error:
        return await _detail_page(ui, page, project, rule, form, str(error))
    if not form["secret"]:  # a blank secret keeps the webhook's signing key
        kept = {a.target: a.secret for a in rule.spec.actions}
        spec = _keep_secrets(spec, kept)

    def update(conn: Connection) -> None:
        alert_rules.update_rule(conn, rule.id, spec)
        _audit(conn, page, project, AuditEvent.RULE_EDIT, spec.name)

    await ui.write(update)
    return RedirectResponse(f"{_rules_url(project)}{rule.id}/", 303)


def _keep_secrets(spec: RuleSpec, secrets: dict[str, str | None]) -> RuleSpec:
    return replace(
        spec, actions=tuple(replace(a, secret=secrets.get(a.target)) for a in spec.actions)
    )


async def delete_rule(ui: WebCore, page: Page, project: Project) -> Response:
    rule = await _rule(ui, page, project)

    def delete(conn: Connection) -> None:
        alert_rules.delete_rule(conn, rule.id)
        _audit(conn, page, project, AuditEvent.RULE_REMOVE, rule.spec.name)

    await ui.write(delete)
    return RedirectResponse(_rules_url(project), 303)


async def test_rule(ui: WebCore, page: Page, project: Project) -> Response:
    rule = await _rule(ui, page, project)

    now = time.time()
    await ui.write(lambda c: queue_test_notification(c, rule, ui.config.base_url, now))
    return RedirectResponse(f"{_rules_url(project)}{rule.id}/#deliveries", 303)


async def snooze(ui: WebCore, page: Page, project: Project) -> Response:
    """Ignore the issue with one of the page's ignore options."""
    issue_id = int(page.request.path_params["issue_id"])
    chosen = next((s for value, _, s in SNOOZES if value == page.form.get("until")), None)
    if chosen is None:
        raise WebError(400, "Unknown ignore option.")

    def apply(conn: Connection) -> bool:
        facts = alert_facts.issue_facts(conn, [issue_id]).get(issue_id)
        if facts is None or facts.project_id != project.id:
            return False
        actor = Actor(page.user.id, page.user.email)
        set_status(conn, issue_id, project.id, IssueStatus.IGNORED, chosen, actor, time.time())
        return True  # recorded in the issue's activity with who ignored it

    if not await ui.write(apply):
        raise WebError(404, "There is no such issue in this project.")
    return RedirectResponse(f"{project_base(project)}/issues/{issue_id}/", 303)


def _audit(conn: Connection, page: Page, project: Project, event: AuditEvent, name: str) -> None:
    audit.record(conn, project.organization_id, page.actor, event, f"{project.slug}: {name}",
                 time.time())  # fmt: skip

"""Alert rules as users write them (CLI flags, API JSON, UI forms) and as the API shows them.

One reading of the fields for every entry point: targets are checked with ``parse_target`` and
the rule with ``validated``, so a rule that could never deliver is refused when it is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from vedette.alerts.channels import parse_target
from vedette.domain.alert_rules import (
    DEFAULT_INTERVAL_SECONDS,
    ActionSpec,
    Metric,
    Rule,
    RuleError,
    RuleSpec,
    Trigger,
    validated,
)
from vedette.domain.search import parse_search


def build_spec(
    *,
    name: str,
    when: str,
    notify: Sequence[str | Mapping[str, Any]],
    threshold: float | None = None,
    warning: float | None = None,
    window: int | None = None,
    min_count: int | None = None,
    metric: str | None = None,
    transaction: str | None = None,
    filter_query: str = "",
    interval: int | None = None,
    digest: int = 0,
) -> RuleSpec:
    """A validated rule, or RuleError saying what is wrong."""
    try:
        trigger = Trigger(when)
    except ValueError:
        raise RuleError(f"unknown trigger {when!r}; one of: {', '.join(Trigger)}") from None
    try:
        chosen_metric = None if metric in (None, "") else Metric(str(metric))
    except ValueError:
        raise RuleError(f"unknown metric {metric!r}; one of: {', '.join(Metric)}") from None
    problems = parse_search(filter_query).problems
    if problems:
        raise RuleError(f"filter: {'; '.join(problems)}")
    return validated(
        RuleSpec(
            name=name.strip(),
            trigger=trigger,
            actions=tuple(_action(target) for target in notify),
            threshold=threshold,
            warning_threshold=warning,
            window_seconds=window,
            min_count=min_count,
            metric=chosen_metric,
            transaction=transaction or None,
            filter_query=filter_query.strip(),
            interval_seconds=DEFAULT_INTERVAL_SECONDS if interval is None else interval,
            digest_seconds=digest,
        )
    )


def _action(target: str | Mapping[str, Any]) -> ActionSpec:
    if isinstance(target, str):
        spec, secret = target, None
    else:
        spec, secret = str(target.get("target", "")), target.get("secret")
    try:
        parsed = parse_target(spec)
    except ValueError as error:
        raise RuleError(f"target {spec[:200]!r}: {error}") from None
    if secret is not None and (not isinstance(secret, str) or len(secret) > 200):
        raise RuleError("a webhook secret must be a string of at most 200 characters")
    return ActionSpec(parsed.spec(), secret or None)


def spec_from_json(body: Mapping[str, Any]) -> RuleSpec:
    """The API's JSON (see ``rule_json``), or RuleError. ``frequency`` is Sentry's name for the
    action interval, in minutes; ``interval`` (seconds) wins when both are given."""
    interval = _number(body, "interval", int)
    if interval is None and body.get("frequency") is not None:
        minutes = _number(body, "frequency", int)
        interval = None if minutes is None else minutes * 60
    notify = body.get("actions", [])
    if not isinstance(notify, list):
        raise RuleError("actions must be a list of targets")
    return build_spec(
        name=str(body.get("name") or ""),
        when=str(body.get("trigger") or ""),
        notify=[a if isinstance(a, str | dict) else str(a) for a in notify],
        threshold=_number(body, "threshold", float),
        warning=_number(body, "warningThreshold", float),
        window=_number(body, "window", int),
        min_count=_number(body, "minCount", int),
        metric=body.get("metric"),
        transaction=body.get("transaction"),
        filter_query=str(body.get("filter") or ""),
        interval=interval,
        digest=_number(body, "digest", int) or 0,
    )


def _number(body: Mapping[str, Any], key: str, kind: type[int] | type[float]) -> Any:
    value = body.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RuleError(f"{key} must be a number")
    try:
        return kind(value)
    except ValueError:
        raise RuleError(f"{key} must be a number") from None


def rule_json(rule: Rule) -> dict[str, Any]:
    spec = rule.spec
    return {
        "id": str(rule.id),
        "name": spec.name,
        "trigger": spec.trigger.value,
        "threshold": spec.threshold,
        "warningThreshold": spec.warning_threshold,
        "window": spec.window_seconds,
        "minCount": spec.min_count,
        "metric": None if spec.metric is None else spec.metric.value,
        "transaction": spec.transaction,
        "filter": spec.filter_query,
        "interval": spec.interval_seconds,
        "frequency": spec.interval_seconds // 60,
        "digest": spec.digest_seconds,
        "actions": [
            {"id": str(action_id), "target": action.target, "hasSecret": action.secret is not None}
            for action_id, action in zip(rule.action_ids, spec.actions, strict=True)
        ],
        "state": rule.state.value,
        "lastValue": rule.last_value,
        "dateCreated": datetime.fromtimestamp(rule.created_at, UTC)
        .isoformat()
        .replace("+00:00", "Z"),
    }

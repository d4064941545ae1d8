"""Alert rules and their actions: create, read, update, delete."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, or_, select, update

from vedette.domain.alert_rules import ActionSpec, Metric, MetricState, Rule, RuleSpec, Trigger
from vedette.storage.schema import alert_actions, alert_firings, alert_rules


def _kind_and_address(target: str) -> tuple[str, str]:
    kind, _, address = target.partition(":")
    return kind, address


def create_rule(conn: Connection, project_id: int, spec: RuleSpec, now: float | None = None) -> int:
    rule_id = int(
        conn.execute(
            insert(alert_rules)
            .values(
                project_id=project_id,
                created_at=time.time() if now is None else now,
                **_rule_values(spec),
            )
            .returning(alert_rules.c.id)
        ).scalar_one()
    )
    _insert_actions(conn, rule_id, spec.actions)
    return rule_id


# What a metric rule's state is judged by: a change starts it again from ``ok``.
_CONDITION = ("trigger", "threshold", "warning_threshold", "window_seconds", "min_count",
              "metric", "transaction", "filter_query")  # fmt: skip


def update_rule(conn: Connection, rule_id: int, spec: RuleSpec) -> None:
    """Replace a rule's definition. A metric rule starts again from ``ok`` when its condition
    changed (a new name or target keeps its state: a steady state sends nothing). Actions whose
    target is unchanged keep their ids, which open incidents (PagerDuty's resolve) refer to."""
    values = _rule_values(spec)
    old = conn.execute(
        select(*(alert_rules.c[name] for name in _CONDITION)).where(alert_rules.c.id == rule_id)
    ).one_or_none()
    if old is None or any(getattr(old, name) != values[name] for name in _CONDITION):
        values.update(state=MetricState.OK.value, last_value=None)
    conn.execute(update(alert_rules).where(alert_rules.c.id == rule_id).values(**values))
    wanted = [_action_row(rule_id, a) for a in spec.actions]
    gone = []
    for row in conn.execute(select(alert_actions).where(alert_actions.c.rule_id == rule_id)):
        same = {"rule_id": rule_id, "kind": row.kind, "address": row.address, "secret": row.secret}
        if same in wanted:
            wanted.remove(same)  # kept, with its id
        else:
            gone.append(row.id)
    if gone:
        conn.execute(delete(alert_actions).where(alert_actions.c.id.in_(gone)))
    if wanted:
        conn.execute(insert(alert_actions), wanted)


def delete_rule(conn: Connection, rule_id: int) -> bool:
    conn.execute(delete(alert_actions).where(alert_actions.c.rule_id == rule_id))
    return bool(conn.execute(delete(alert_rules).where(alert_rules.c.id == rule_id)).rowcount)


def _rule_values(spec: RuleSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "trigger": spec.trigger.value,
        "threshold": spec.threshold,
        "warning_threshold": spec.warning_threshold,
        "window_seconds": spec.window_seconds,
        "min_count": spec.min_count,
        "metric": None if spec.metric is None else spec.metric.value,
        "transaction": spec.transaction,
        "filter_query": spec.filter_query,
        "interval_seconds": spec.interval_seconds,
        "digest_seconds": spec.digest_seconds,
    }


def _insert_actions(conn: Connection, rule_id: int, actions: Iterable[ActionSpec]) -> None:
    rows = [_action_row(rule_id, a) for a in actions]
    if rows:
        conn.execute(insert(alert_actions), rows)


def _action_row(rule_id: int, action: ActionSpec) -> dict[str, Any]:
    kind, address = _kind_and_address(action.target)
    return {"rule_id": rule_id, "kind": kind, "address": address, "secret": action.secret}


def get_rule(conn: Connection, rule_id: int) -> Rule | None:
    rules = _load(conn, select(alert_rules).where(alert_rules.c.id == rule_id))
    return rules[0] if rules else None


def rules_of_projects(
    conn: Connection, project_ids: Iterable[int], triggers: Iterable[Trigger] | None = None
) -> list[Rule]:
    query = select(alert_rules).where(alert_rules.c.project_id.in_(sorted(set(project_ids))))
    if triggers is not None:
        query = query.where(alert_rules.c.trigger.in_(sorted(t.value for t in triggers)))
    return _load(conn, query.order_by(alert_rules.c.id))


def rules_with_trigger(conn: Connection, trigger: Trigger) -> list[Rule]:
    """Locked until the transaction ends: one node at a time judges them (PostgreSQL)."""
    query = select(alert_rules).where(alert_rules.c.trigger == trigger.value)
    return _load(conn, query.order_by(alert_rules.c.id).with_for_update())


def rules_with_digest(conn: Connection) -> list[Rule]:
    """Rules that gather their alerts in digests, and rules whose digest was turned off while
    alerts waited in it (they go out at once). Locked until the transaction ends, like
    ``rules_with_trigger``."""
    waiting = exists().where(
        alert_firings.c.rule_id == alert_rules.c.id, alert_firings.c.delivery == "digest"
    )
    query = select(alert_rules).where(or_(alert_rules.c.digest_seconds > 0, waiting))
    return _load(conn, query.order_by(alert_rules.c.id).with_for_update())


def set_metric_state(
    conn: Connection, rule_id: int, state: MetricState, value: float | None
) -> None:
    conn.execute(
        update(alert_rules)
        .where(alert_rules.c.id == rule_id)
        .values(state=state.value, last_value=value)
    )


def set_last_digest(conn: Connection, rule_id: int, at: float) -> None:
    conn.execute(update(alert_rules).where(alert_rules.c.id == rule_id).values(last_digest_at=at))


def actions_of(
    conn: Connection, rule_ids: Iterable[int]
) -> dict[int, list[tuple[int, ActionSpec]]]:
    """rule id -> [(action id, action)], in the order they were given."""
    found: dict[int, list[tuple[int, ActionSpec]]] = defaultdict(list)
    rows = conn.execute(
        select(alert_actions)
        .where(alert_actions.c.rule_id.in_(sorted(set(rule_ids))))
        .order_by(alert_actions.c.id)
    )
    for r in rows:
        found[r.rule_id].append((r.id, ActionSpec(f"{r.kind}:{r.address}", r.secret)))
    return found


def _load(conn: Connection, query: Any) -> list[Rule]:
    rows = conn.execute(query).all()
    actions = actions_of(conn, [r.id for r in rows]) if rows else {}
    return [_rule(r, actions.get(r.id, [])) for r in rows]


def _rule(row: Any, actions: list[tuple[int, ActionSpec]]) -> Rule:
    spec = RuleSpec(
        name=row.name,
        trigger=Trigger(row.trigger),
        actions=tuple(a for _, a in actions),
        threshold=row.threshold,
        warning_threshold=row.warning_threshold,
        window_seconds=row.window_seconds,
        min_count=row.min_count,
        metric=None if row.metric is None else Metric(row.metric),
        transaction=row.transaction,
        filter_query=row.filter_query,
        interval_seconds=row.interval_seconds,
        digest_seconds=row.digest_seconds,
    )
    return Rule(
        id=row.id,
        project_id=row.project_id,
        spec=spec,
        created_at=row.created_at,
        state=MetricState(row.state),
        last_value=row.last_value,
        last_digest_at=row.last_digest_at,
        action_ids=tuple(i for i, _ in actions),
    )

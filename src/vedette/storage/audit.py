"""The audit log of an organisation: who changed its members, keys, tokens, rules and settings,
written in the transaction of the change (docs/workflow.md, "Audit log")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select

from vedette.storage.schema import audit_log

MAX_TARGET_CHARS = 500


class AuditEvent(StrEnum):
    MEMBER_INVITE = "member.invite"
    MEMBER_JOIN = "member.accept-invite"
    MEMBER_REMOVE = "member.remove"
    MEMBER_EDIT = "member.edit"
    INVITE_REVOKE = "member.invite-revoke"
    KEY_ADD = "projectkey.create"
    KEY_EDIT = "projectkey.edit"
    KEY_REMOVE = "projectkey.remove"
    TOKEN_ADD = "api-key.create"
    TOKEN_REMOVE = "api-key.remove"
    RULE_ADD = "rule.add"
    RULE_EDIT = "rule.edit"
    RULE_REMOVE = "rule.remove"
    PROJECT_EDIT = "project.edit"
    TEAM_EDIT = "team.edit"
    ORG_EDIT = "org.edit"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who: a signed-in user (their email) or an API token."""

    label: str
    user_id: int | None = None


API_TOKEN = Actor("API token")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    actor: str
    actor_user_id: int | None
    event: str
    target: str
    data: dict[str, Any]
    created_at: float


def record(
    conn: Connection,
    organization_id: int,
    actor: Actor,
    event: AuditEvent,
    target: str,
    now: float,
    data: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            organization_id=organization_id, actor_user_id=actor.user_id,
            actor=actor.label[:254], event=event.value, target=target[:MAX_TARGET_CHARS],
            data=data or {}, created_at=now,
        )
    )  # fmt: skip


def entries(
    conn: Connection, organization_id: int, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """Newest first; ``before_id`` pages back."""
    query = select(
        audit_log.c.id, audit_log.c.actor, audit_log.c.actor_user_id, audit_log.c.event,
        audit_log.c.target, audit_log.c.data, audit_log.c.created_at,
    ).where(audit_log.c.organization_id == organization_id)  # fmt: skip
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    rows = conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))
    return [AuditEntry(*r) for r in rows]

"""What a notification says, independent of the channel that carries it.

A message is built once, when the alert fires, inside the transaction that stored the triggering
result, and kept as JSON in the outbox; each channel renders it at delivery time. Everything in it
that came from an event (title, culprit, tags, release...) is attacker-controlled text: renderers
escape it for their format and bound its length.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class MessageKind(StrEnum):
    ISSUE = "issue"  # an issue alert rule fired for one issue
    METRIC = "metric"  # a metric alert rule changed state (fired, or recovered)
    DIGEST = "digest"  # several firings of one rule, sent together
    SUPPRESSED = "suppressed"  # "N more alerts suppressed" once a project's hourly cap is hit
    TEST = "test"  # "send test notification"
    ACCOUNT = "account"  # an account email (invitation, password reset): title, reason, url
    FEEDBACK = "feedback"  # a user sent feedback (title: their words; url: its issue or list)


class Action(StrEnum):
    TRIGGER = "trigger"
    RESOLVE = "resolve"  # the issue was resolved / the metric recovered


@dataclass(frozen=True, slots=True)
class EventSummary:
    event_id: str
    title: str
    environment: str | None = None
    release: str | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)
    user: str | None = None  # "id:42", "email:a@b" as in the `user` tag


@dataclass(frozen=True, slots=True)
class Message:
    """One notification's content; ``id`` is stable across retries (receivers de-duplicate)."""

    id: str
    kind: MessageKind
    action: Action
    organization: str  # slug
    project: str  # slug
    project_id: int
    project_name: str
    rule_name: str
    rule_id: int | None
    title: str  # issue title, or the metric rule's description
    reason: str  # why it fired, one line: "New issue", "Regressed", "100 events in 1h" ...
    url: str  # absolute link to the issue (or metric / project) page
    level: str = "error"  # fatal | error | warning | info | debug (metric: critical -> fatal)
    culprit: str = ""
    issue_id: int | None = None
    short_id: str | None = None  # "SHOP-12"
    event_count: int = 0
    user_count: int = 0
    first_seen: float | None = None  # unix seconds
    last_seen: float | None = None
    environment: str | None = None
    release: str | None = None
    event: EventSummary | None = None
    items: list[Message] = field(default_factory=list)  # DIGEST: what fired; SUPPRESSED: none
    suppressed: int = 0  # SUPPRESSED: how many were not sent

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        event = data.get("event")
        return cls(
            **{
                **data,
                "kind": MessageKind(data["kind"]),
                "action": Action(data["action"]),
                "event": None
                if event is None
                else EventSummary(**{**event, "tags": [tuple(t) for t in event.get("tags", [])]}),
                "items": [cls.from_json(item) for item in data.get("items", [])],
            }
        )

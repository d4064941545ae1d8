"""What processing hands to storage for one envelope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vedette.domain.events import Event, Grouping, IssueSummary
from vedette.domain.monitors import CheckIn
from vedette.domain.performance import SpanRow, TransactionFact
from vedette.domain.profiles import ProfileRecord
from vedette.domain.sessions import SessionAggregate, SessionUpdate


@dataclass(frozen=True, slots=True)
class Outcome:
    category: str
    outcome: str  # accepted | invalid | filtered | client_discard
    reason: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ProcessedEvent:
    """An error/message event ready for grouping into an issue."""

    event: Event
    grouping: Grouping
    summary: IssueSummary


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    event_id: str
    name: str
    content_type: str
    attachment_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One structured log record (docs/logs.md); ``log_id`` is stable across re-deliveries."""

    log_id: str
    timestamp: float
    level: str  # trace | debug | info | warn | error | fatal
    severity_number: int
    body: str
    template: str | None
    parameters: dict[str, Any]
    attributes: dict[str, dict[str, Any]]  # {key: {"type": ..., "value": ...}}
    trace_id: str | None
    span_id: str | None
    release: str | None
    environment: str | None
    sdk: str | None


@dataclass(frozen=True, slots=True)
class UserFeedback:
    """A user's report from a ``feedback`` or ``user_report`` item (docs/logs.md, "Feedback")."""

    feedback_id: str
    source: str  # feedback | user_report | api | error_page
    event_id: str | None  # the event it is about
    name: str
    email: str
    comments: str
    url: str | None
    release: str | None
    environment: str | None
    timestamp: float


@dataclass(slots=True)
class ProcessedEnvelope:
    errors: list[ProcessedEvent] = field(default_factory=list)
    transactions: list[Event] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    # Performance: spans of transactions and span items, one fact per transaction or
    # segment; performance issues travel in ``errors`` (they are issues like errors).
    spans: list[SpanRow] = field(default_factory=list)
    transaction_facts: list[TransactionFact] = field(default_factory=list)
    # Release health and cron monitors.
    session_updates: list[SessionUpdate] = field(default_factory=list)
    session_aggregates: list[SessionAggregate] = field(default_factory=list)
    check_ins: list[CheckIn] = field(default_factory=list)
    # Structured logs and user feedback (docs/logs.md).
    logs: list[LogRecord] = field(default_factory=list)
    feedback: list[UserFeedback] = field(default_factory=list)
    # Transaction profiles and continuous profile chunks (docs/profiles.md).
    profiles: list[ProfileRecord] = field(default_factory=list)

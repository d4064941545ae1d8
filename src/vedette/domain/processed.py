"""What processing hands to storage for one envelope."""

from __future__ import annotations

from dataclasses import dataclass, field

from vedette.domain.events import Event, Grouping, IssueSummary
from vedette.domain.monitors import CheckIn
from vedette.domain.performance import SpanRow, TransactionFact
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

"""Transactions, spans and their metrics: shapes and Sentry's definitions.

See docs/protocol.md, "Transactions and spans" and "Performance metrics".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_APDEX_THRESHOLD_MS = 300.0
# failure_rate(): every status except these is a failure, so "unknown_error" (normalised
# to "unknown") is not one, while "not_found" (a FastAPI 404) and "internal_error" are.
NON_FAILURE_STATUSES = frozenset({"ok", "cancelled", "unknown"})


def is_failure(status: str | None) -> bool:
    return (status or "unknown") not in NON_FAILURE_STATUSES


def apdex_class(duration_ms: float, threshold_ms: float) -> str:
    """satisfied (<= T), tolerating (T < d <= 4T) or frustrated (> 4T)."""
    if duration_ms <= threshold_ms:
        return "satisfied"
    if duration_ms <= 4 * threshold_ms:
        return "tolerating"
    return "frustrated"


def apdex(satisfied: int, tolerating: int, total: int) -> float | None:
    return None if total == 0 else (satisfied + tolerating / 2) / total


def op_category(op: str | None) -> str:
    """The breakdown key of a span op: ``db.query`` -> ``db``, ``http.client`` -> ``http``."""
    if not op:
        return "default"
    return op.split(".", 1)[0][:64] or "default"


@dataclass(frozen=True, slots=True)
class SpanRow:
    """One span as stored (recent detail) and aggregated.

    Every transaction contributes its root span (``is_segment``, carrying the transaction's
    name, op, status and duration) plus its children; a span v2 container contributes its spans
    as they are. ``segment_id`` is the root span id of the transaction the span belongs to.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    segment_id: str | None
    event_id: str | None  # the transaction event that carried it (None for span items)
    transaction: str | None  # the segment's name
    op: str | None
    description: str | None
    status: str | None
    start: float  # unix seconds
    duration_ms: float
    exclusive_ms: float
    is_segment: bool
    release: str | None
    environment: str | None
    # For db spans: the hash of op category + normalised SQL, and that normalised SQL.
    group: str | None = None
    group_description: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> float:
        return self.start + self.duration_ms / 1000.0

    def event_json(self) -> dict[str, Any]:
        """The span as a transaction event's ``spans`` entry carries it."""
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "op": self.op,
            "description": self.description,
            "status": self.status,
            "start_timestamp": self.start,
            "timestamp": self.end,
            "exclusive_time": self.exclusive_ms,
        }


@dataclass(frozen=True, slots=True)
class TransactionFact:
    """What one transaction (or v2 segment) adds to the per-minute aggregates."""

    trace_id: str
    span_id: str  # root span id: the key that deduplicates re-deliveries
    name: str
    environment: str | None
    release: str | None
    timestamp: float  # end, unix seconds; the minute bucket comes from it
    duration_ms: float
    status: str
    user: str | None = None

    @property
    def failed(self) -> bool:
        return is_failure(self.status)

"""Shapes that flow from processing into storage.

Normalisation returns a ``NormalizedEvent``: Sentry's event shape (the same JSON the API returns),
typed at its top level. Storage keeps every event as a plain ``Event`` dict, because that is what
the UI, the API and the raw-JSON download all want. Everything storage needs to index is lifted
out of it into the small typed values below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Required, TypedDict, cast

# Any event storage keeps: a normalised event or transaction, or a performance-issue occurrence.
Event = dict[str, Any]

JsonObject = dict[str, Any]


class NormalizedEvent(TypedDict, total=False):
    """An error, message or transaction event as normalisation returns it (Sentry's event shape).

    The ``Required`` keys are always there; the others only when the payload had a valid value
    (a normalised event carries no nulls). Interfaces stay JSON objects: docs/protocol.md
    describes them, and the modules of ``vedette.processing.interfaces`` normalise them.
    """

    event_id: Required[str]  # 32 lowercase hex digits
    type: Required[str]  # "error", "default" (a message), "transaction", "csp", ...
    platform: Required[str]
    level: Required[str]
    received: Required[float]  # Unix seconds, when the server received the envelope
    timestamp: Required[float]  # Unix seconds, after clock-drift correction
    start_timestamp: float  # transactions only
    logger: str
    transaction: str
    server_name: str
    release: str
    dist: str
    environment: str
    culprit: str
    site: str
    checksum: str
    version: str
    time_spent: int
    fingerprint: list[str]
    modules: dict[str, str]
    logentry: JsonObject  # {"message"?, "params"?, "formatted"?}
    exception: dict[str, list[JsonObject]]  # {"values": [oldest, ..., raised]}
    stacktrace: JsonObject  # only when it could not move into a single exception
    threads: dict[str, list[JsonObject]]
    breadcrumbs: Required[dict[str, list[JsonObject]]]  # {"values": [oldest, ...]}
    request: JsonObject
    sdk: JsonObject
    user: JsonObject
    contexts: Required[dict[str, JsonObject]]  # by alias, each with its "type"
    transaction_info: JsonObject
    extra: Required[JsonObject]
    # Kept as trimmed JSON without looking inside: objects or lists.
    debug_meta: Any
    template: Any
    csp: Any
    hpkp: Any
    expectct: Any
    expectstaple: Any
    breakdowns: Any  # transactions only
    scraping_attempts: Any
    spans: list[JsonObject]  # transactions only
    measurements: dict[str, JsonObject]  # transactions only: {name: {"value", "unit"?}}
    tags: Required[list[list[str]]]  # [[key, value], ...]: the user's, then the derived ones
    errors: list[JsonObject]  # what normalisation (or the SDK) found wrong
    _meta: JsonObject  # remarks (cuts, removals) by the path of the value they concern


def as_plain_dict(event: NormalizedEvent) -> Event:
    """The same object as a plain dict: storage keeps it so, and code walking every key reads it
    so (a TypedDict is a dict at run time)."""
    return cast(Event, event)


class IssueStatus(StrEnum):
    UNRESOLVED = "unresolved"
    RESOLVED = "resolved"
    RESOLVED_IN_NEXT_RELEASE = "resolvedInNextRelease"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Grouping:
    """The result of running one versioned grouping strategy over one event.

    ``hashes`` are ordered by preference: an event joins the issue owning any of them, and a new
    issue owns them all (Sentry keeps both the app and the system hash for stability).
    """

    strategy: str
    hashes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IssueSummary:
    """What an event says about the issue it belongs to (title, culprit, level, metadata)."""

    title: str
    culprit: str
    level: str
    type: str  # "error" | "default" (message) | "csp" ...
    metadata: dict[str, Any] = field(default_factory=dict)

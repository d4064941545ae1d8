"""Shapes that flow from processing into storage.

A normalised event is kept as a plain ``dict[str, Any]`` in Sentry's event shape (the same JSON the
API returns), because that is what the UI, the API and the raw-JSON download all want. Everything
storage needs to index is lifted out of it into the small typed values below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Event = dict[str, Any]


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

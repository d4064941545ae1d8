"""Who an issue can be assigned to, as Sentry's ``assignedTo`` names it: ``user:ID``, an email,
``team:SLUG`` (``#SLUG`` in search), or ``""`` for nobody."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_REF_LENGTH = 254  # the longest email; slugs and ids are shorter
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class AssigneeKind(StrEnum):
    USER = "user"  # value: the user's id
    EMAIL = "email"  # value: the user's email, lower-cased
    TEAM = "team"  # value: the team's slug


@dataclass(frozen=True, slots=True)
class AssigneeRef:
    kind: AssigneeKind
    value: str


class AssigneeError(ValueError):
    """An ``assignedTo`` that names no possible assignee."""


def is_slug(value: str) -> bool:
    return bool(_SLUG.match(value))


def parse_assignee(raw: object) -> AssigneeRef | None:
    """The assignee an ``assignedTo`` value names; None for ``""`` or null (unassign)."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_REF_LENGTH:
        raise AssigneeError("assignedTo must be 'user:ID', an email, 'team:SLUG' or ''")
    text = raw.strip()
    kind, sep, value = text.partition(":")
    if sep and kind == "user" and value.isdigit() and len(value) < 19:
        return AssigneeRef(AssigneeKind.USER, value)
    if sep and kind == "team" and is_slug(value):
        return AssigneeRef(AssigneeKind.TEAM, value)
    local, at, domain = text.rpartition("@")
    if at and local and domain and not any(c.isspace() for c in text):
        return AssigneeRef(AssigneeKind.EMAIL, text.lower())
    raise AssigneeError("assignedTo must be 'user:ID', an email, 'team:SLUG' or ''")

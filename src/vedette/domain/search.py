"""The issue search language shared by the API and the UI (a subset of Sentry's).

``is:unresolved level:error release:"shop@1.2" user.id:42 tenant:acme !browser.name:Chrome some
free text``. Unknown keys are tag filters; everything else is free text. Assignment:
``assigned:me``, ``assigned:EMAIL``, ``assigned:#team``, ``is:assigned``, ``is:unassigned``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from enum import StrEnum

from vedette.domain.assignment import is_slug

STATUS_ALIASES: dict[str, tuple[str, ...]] = {
    "unresolved": ("unresolved",),
    "resolved": ("resolved", "resolvedInNextRelease"),
    "ignored": ("ignored",),
    "archived": ("ignored",),
}

# Fields that are really tags under another name (the derived tags the normaliser adds).
_TAG_ALIASES = {"release": "release", "environment": "environment", "env": "environment"}


@dataclass(frozen=True, slots=True)
class TagFilter:
    key: str
    value: str
    negated: bool = False


class AssignedKind(StrEnum):
    ANY = "any"  # is:assigned
    ME = "me"  # the signed-in user (resolved to USER by ``for_viewer``)
    USER = "user"  # value: a user id
    EMAIL = "email"
    TEAM = "team"  # value: a team slug


@dataclass(frozen=True, slots=True)
class AssignedFilter:
    kind: AssignedKind
    value: str = ""
    negated: bool = False  # is:unassigned is a negated is:assigned


@dataclass(frozen=True, slots=True)
class IssueSearch:
    statuses: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    tags: tuple[TagFilter, ...] = ()
    text: str = ""
    problems: tuple[str, ...] = field(default=())
    assigned: tuple[AssignedFilter, ...] = ()


NO_VIEWER = "assigned:me needs a signed-in user (an API token is no one)"


def for_viewer(search: IssueSearch, user_id: int | None) -> IssueSearch:
    """``assigned:me`` made concrete for the user searching; a token (no user) gets a problem."""
    if not any(f.kind == AssignedKind.ME for f in search.assigned):
        return search
    if user_id is None:
        return replace(search, problems=(*search.problems, NO_VIEWER))
    concrete = tuple(
        AssignedFilter(AssignedKind.USER, str(user_id), f.negated)
        if f.kind == AssignedKind.ME
        else f
        for f in search.assigned
    )
    return replace(search, assigned=concrete)


def _assigned_filter(value: str, negated: bool) -> AssignedFilter | None:
    if value == "me":
        return AssignedFilter(AssignedKind.ME, negated=negated)
    if value.startswith("#") and is_slug(value[1:]):
        return AssignedFilter(AssignedKind.TEAM, value[1:], negated)
    if "@" in value.strip("@"):
        return AssignedFilter(AssignedKind.EMAIL, value.lower(), negated)
    return None


def _split(query: str) -> list[str]:
    try:
        return shlex.split(query)
    except ValueError:  # an unbalanced quote: fall back to whitespace
        return query.split()


def parse_search(query: str) -> IssueSearch:
    statuses: list[str] = []
    levels: list[str] = []
    tags: list[TagFilter] = []
    words: list[str] = []
    problems: list[str] = []
    assigned: list[AssignedFilter] = []
    for token in _split(query):
        negated = token.startswith("!")
        key, sep, value = token.removeprefix("!").partition(":")
        if not sep or not key or not value:
            words.append(token)
            continue
        if key == "is" and value in ("assigned", "unassigned"):
            unassigned = negated != (value == "unassigned")
            assigned.append(AssignedFilter(AssignedKind.ANY, "", unassigned))
        elif key == "assigned":
            found = _assigned_filter(value, negated)
            if found is None:
                problems.append(f"assigned: takes me, an email or #team, not {value!r}")
            else:
                assigned.append(found)
        elif key == "is":
            if value not in STATUS_ALIASES:
                problems.append(f"unknown status {value!r}")
                continue
            statuses.extend(STATUS_ALIASES[value])
        elif key == "level" and not negated:
            levels.append(value)
        elif key == "user.id":
            tags.append(TagFilter("user", f"id:{value}", negated))
        elif key in ("user.email", "user.username", "user.ip"):
            tags.append(TagFilter("user", f"{key.partition('.')[2]}:{value}", negated))
        else:
            tags.append(TagFilter(_TAG_ALIASES.get(key, key), value, negated))
    return IssueSearch(
        tuple(statuses),
        tuple(levels),
        tuple(tags),
        " ".join(words),
        tuple(problems),
        tuple(assigned),
    )

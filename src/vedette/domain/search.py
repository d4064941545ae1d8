"""The issue search language shared by the API and the UI (a subset of Sentry's).

``is:unresolved level:error release:"shop@1.2" user.id:42 tenant:acme !browser.name:Chrome some
free text``. Unknown keys are tag filters; everything else is free text.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

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


@dataclass(frozen=True, slots=True)
class IssueSearch:
    statuses: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    tags: tuple[TagFilter, ...] = ()
    text: str = ""
    problems: tuple[str, ...] = field(default=())


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
    for token in _split(query):
        negated = token.startswith("!")
        key, sep, value = token.removeprefix("!").partition(":")
        if not sep or not key or not value:
            words.append(token)
            continue
        if key == "is":
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
        tuple(statuses), tuple(levels), tuple(tags), " ".join(words), tuple(problems)
    )

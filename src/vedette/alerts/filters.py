"""A rule's filter, in the issue search language, judged against the event that fired it."""

from __future__ import annotations

from typing import Any

from vedette.domain.search import IssueSearch, TagFilter

# Tags that the event carries as fields of its own.
_FIELDS = {"environment": "environment", "release": "release", "level": "level"}


def event_matches(search: IssueSearch, event: dict[str, Any], title: str, culprit: str) -> bool:
    """Whether the event passes every term (statuses are not the event's: they are ignored)."""
    level = str(event.get("level") or "error")
    if search.levels and level not in search.levels:
        return False
    pairs = _tag_pairs(event)
    if not all(_tag_matches(f, pairs) for f in search.tags):
        return False
    if search.text:
        haystack = " ".join((title, culprit, _message(event))).lower()
        return all(word.lower() in haystack for word in search.text.split())
    return True


def _tag_pairs(event: dict[str, Any]) -> set[tuple[str, str]]:
    pairs = {(str(k), str(v)) for k, v in (event.get("tags") or [])}
    for tag, field in _FIELDS.items():
        value = event.get(field)
        if value:
            pairs.add((tag, str(value)))
    user = event.get("user")
    if isinstance(user, dict):
        for key in ("id", "email", "username", "ip_address"):
            if user.get(key):
                pairs.add(("user", f"{key.removesuffix('_address')}:{user[key]}"))
    return pairs


def _tag_matches(term: TagFilter, pairs: set[tuple[str, str]]) -> bool:
    found = (term.key, term.value) in pairs
    return not found if term.negated else found


def _message(event: dict[str, Any]) -> str:
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        return str(logentry.get("formatted") or logentry.get("message") or "")
    return str(event.get("message") or "")

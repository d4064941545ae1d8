"""The identities of an issue's users that search finds besides the user tag.

The user tag names a user by the first of id, email, username and IP address the event has, so a
filter on that tag alone finds ``user.email:ann@example.com`` only among users without an id.
Each identity of an event's user is therefore also kept as a search-only tag value (key
``user.email``, ``user.username`` or ``user.ip``): issue search looks there too, tag summaries
leave those keys out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vedette.domain.search import TagFilter

# The user interface's field -> (the label the user tag and search use, the search-only key).
_IDENTITIES = {
    "email": ("email", "user.email"),
    "username": ("username", "user.username"),
    "ip_address": ("ip", "user.ip"),
}
SEARCH_ONLY_KEYS = frozenset(key for _, key in _IDENTITIES.values())
_VALUE_CHARS = 200  # group_tag_values.value


def identity_tags(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The search-only (key, value) pairs of the event's user."""
    user = event.get("user")
    if not isinstance(user, Mapping):
        return []
    return [
        (key, value[:_VALUE_CHARS])
        for field, (_, key) in _IDENTITIES.items()
        if isinstance(value := user.get(field), str) and value
    ]


def identity_filter(tag: TagFilter) -> tuple[str, str] | None:
    """For a filter on the user tag by email, username or IP: the search-only pair to match
    as well (``user`` = ``email:ann@example.com`` -> ``user.email`` = ``ann@example.com``)."""
    if tag.key != "user":
        return None
    label, _, value = tag.value.partition(":")
    for identity_label, key in _IDENTITIES.values():
        if label == identity_label and value:
            return key, value
    return None

"""What data scrubbing left in an event's ``_meta``, for the event page: the rules that
removed or replaced a value ("[Filtered] by @stripe-key:filter")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def meta_at(event: Mapping[str, Any], *path: str | int) -> Mapping[str, Any]:
    """The ``_meta`` node of the value at ``path`` (empty when nothing was remarked)."""
    node: Any = event.get("_meta")
    for segment in path:
        node = node.get(str(segment)) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def child(node: Mapping[str, Any], *path: str | int) -> Mapping[str, Any]:
    for segment in path:
        found = node.get(str(segment))
        node = found if isinstance(found, Mapping) else {}
    return node


def filtered_by(node: Mapping[str, Any]) -> str | None:
    """The scrubbing rules remarked on this value, or None. Trimming remarks (``!limit``...)
    are not scrubbing and are left out."""
    slot = node.get("")
    remarks = slot.get("rem") if isinstance(slot, Mapping) else None
    if not isinstance(remarks, list):
        return None
    rules = [
        str(remark[0])
        for remark in remarks
        if isinstance(remark, list) and remark and not str(remark[0]).startswith("!")
    ]
    return ", ".join(dict.fromkeys(rules)) or None

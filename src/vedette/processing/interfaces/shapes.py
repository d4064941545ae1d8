"""Shapes shared by several interfaces: the JSON object alias, value lists and key/value pairs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Json = dict[str, Any]

# Key/value pairs (headers, cookies, query, span tags) and SDK lists kept per interface.
MAX_PAIRS = 200


def values_list(value: object) -> tuple[Sequence[object], bool] | None:
    """The entries of a ``{"values": [...]}`` container, a bare list, or one bare object.

    Returns the list and whether the container form was used, or None when nothing usable.
    """
    if isinstance(value, list | tuple):
        return value, False
    if isinstance(value, Mapping):
        inner = value.get("values")
        if isinstance(inner, list | tuple):
            return inner, True
        if "values" not in value and value:
            return [value], False
    return None


def key_value_pairs(value: object) -> Iterable[tuple[object, object]]:
    """Key/value pairs from an object or a list of two-element lists (others skipped)."""
    if isinstance(value, Mapping):
        yield from value.items()
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, list | tuple) and len(item) == 2:
                yield item[0], item[1]

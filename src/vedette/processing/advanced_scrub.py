"""Advanced data scrubbing applied: each field of the event, the rules whose selectors match it.

Runs before the default scrubber (processing.scrub), and, as Sentry documents, regardless of
safe fields. Remarks in ``_meta``: ``[rule, "x"]`` removed, ``"s"`` replaced, ``"m"`` masked,
``"p"`` hashed (pseudonymised).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from vedette.processing.pii_config import Application, PiiConfig, Redaction, Rule
from vedette.processing.pii_selectors import Node
from vedette.processing.trim import Notes, Path, merge_meta
from vedette.processing.value_rules import is_sensitive_key

# Never scrubbed: ids, times and the metadata the scrubbers write.
UNSCRUBBED_TOP = frozenset(
    {"debug_meta", "_meta", "event_id", "timestamp", "start_timestamp", "received", "type",
     "platform", "level"}
)  # fmt: skip
_REMARK = {"remove": "x", "replace": "s", "mask": "m", "hash": "p"}
_ROOT_PARTS = {
    "request": frozenset({"$http", "$request"}),
    "user": frozenset({"$user"}),
    "logentry": frozenset({"$logentry", "$message"}),
    "sdk": frozenset({"$sdk"}),
}
_LIST_PARTS = {
    ("exception", "values"): frozenset({"$error", "$exception"}),
    ("threads", "values"): frozenset({"$thread"}),
    ("breadcrumbs", "values"): frozenset({"$breadcrumb"}),
}
_STACK = frozenset({"$stack", "$stacktrace"})
_FRAME = frozenset({"$frame"})
_SPAN = frozenset({"$span"})
_MAX_DEPTH = 64
_CACHED_PATHS = 20_000
_REMEMBERED_BYTES = 16 * 1024
_REPEATING_PARTS = frozenset({"$frame", "$breadcrumb", "$span", "$thread"})


def _value_type(value: Any) -> str | None:
    if isinstance(value, str):
        return "$string"
    if isinstance(value, bool):
        return "$boolean"
    if isinstance(value, int | float):
        return "$number"
    if isinstance(value, dict):
        return "$object"
    if isinstance(value, list):
        return "$array"
    return None


def _part_types(location: Path, key: str) -> frozenset[str]:
    """The event part at ``location`` (its own key last), by where it sits."""
    if len(location) == 1:
        return _ROOT_PARTS.get(key, frozenset())
    if key in ("stacktrace", "raw_stacktrace"):
        return _STACK
    if len(location) >= 2 and location[-2] == "frames":
        return _FRAME
    if len(location) == 3 and isinstance(location[2], int):
        return _LIST_PARTS.get((str(location[0]), str(location[1])), frozenset())
    if len(location) == 2 and location[0] == "spans" and isinstance(location[1], int):
        return _SPAN
    return frozenset()


def _is_pair_list(value: list[Any]) -> bool:
    return bool(value) and all(
        isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) for item in value
    )


def _digest(text: str, key: str | None) -> str:
    data = text.encode()
    if key is not None:
        return hmac.new(key.encode(), data, hashlib.sha1).hexdigest().upper()
    return hashlib.sha1(data).hexdigest().upper()


def _redact_text(text: str, redaction: Redaction, keep_last: int) -> str:
    if redaction.method == "replace":
        return redaction.text
    if redaction.method == "hash":
        return _digest(text, redaction.hash_key)
    kept = text[-keep_last:] if 0 < keep_last < len(text) else ""
    return "*" * (len(text) - len(kept)) + kept


def _spans(rule: Rule, found: re.Match[str]) -> Iterable[tuple[int, int]]:
    if rule.groups:
        return [found.span(group) for group in rule.groups if found.group(group) is not None]
    assert rule.finds is not None
    part = rule.finds.part
    if found.group(part) is None:
        return []
    return [found.span(part)]


@dataclass(slots=True)
class _Place:
    """A path the walk has met: the rules in force there (those selected at it and those its
    containers pass on) and what it passes on to what it holds."""

    path: tuple[Node, ...]
    rules: tuple[Rule, ...]
    passed_on: tuple[Rule, ...]
    whole: tuple[Rule, ...]  # those that act on a value whatever its type


class _PathIndex:
    """Places by (parent, key, types), kept across events: the same structure recurs event
    after event, so selectors are matched once per path, not once per value. Strings are
    scrubbed once per place and text for the same reason. Both are bounded."""

    def __init__(self, applications: tuple[Application, ...]) -> None:
        self.applications = applications
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.places: list[_Place] = [_Place((), (), (), ())]
        self.children: dict[tuple[int, str, str | None], int] = {}
        self.texts: dict[tuple[int, str], tuple[Any, tuple[list[Any], ...]]] = {}
        # (place, JSON text of a frame, breadcrumb, span or top-level part) -> (the scrubbed
        # part, its _meta), both as JSON text so that every hit is a fresh copy.
        self.parts: dict[tuple[int, bytes], tuple[bytes, bytes]] = {}

    def child(self, parent: int, key: str, value_type: str | None, location: Path) -> int:
        """The place of a value under ``parent``; its part of the event (``$frame``...)
        follows from where it is, so only a new place computes it."""
        found = self.children.get((parent, key, value_type))
        if found is not None:
            return found
        parts = _part_types(location, key)
        types = parts | {value_type} if value_type else parts
        above = self.places[parent]
        path = (*above.path, Node(key, types))
        own = tuple(
            rule for app in self.applications if app.selector.matches(path) for rule in app.rules
        )
        rules = above.passed_on + tuple(rule for rule in own if rule not in above.passed_on)
        passed_on = tuple(rule for rule in rules if rule.kind != "anything")
        with self.lock:  # the web preview scrubs from several threads
            whole = tuple(rule for rule in rules if rule.whole_value)
            self.places.append(_Place(path, rules, passed_on, whole))
            found = len(self.places) - 1
            self.children[(parent, key, value_type)] = found
        return found


@lru_cache(maxsize=64)
def _index(configs: tuple[PiiConfig, ...]) -> _PathIndex:
    return _PathIndex(tuple(app for config in configs for app in config.applications))


class AdvancedScrubber:
    """One event's pass over the rules of its organization and project."""

    def __init__(self, configs: tuple[PiiConfig, ...], notes: Notes) -> None:
        self.index = _index(configs)
        self.notes = notes

    def event(self, event: dict[str, Any]) -> None:
        if not self.index.applications:
            return
        index = self.index
        if max(len(index.places), len(index.texts), len(index.parts)) > _CACHED_PATHS:
            index.clear()
        for key in list(event):
            if key not in UNSCRUBBED_TOP:
                event[key] = self.visit(event[key], key, (key,), 0)

    def visit(self, value: Any, key: str, location: Path, parent: int) -> Any:
        """Rules selected at a container reach everything inside it (``$frame.vars`` masks
        cards in every variable); ``anything`` takes the container itself."""
        here = self.index.child(parent, key.lower(), _value_type(value), location)
        place = self.index.places[here]
        if isinstance(value, str):
            return self.text(value, key, location, here, place.rules) if place.rules else value
        for rule in place.whole:
            value = self.apply(rule, value, key, location)
            if value is None:
                return None
        if len(location) >= _MAX_DEPTH or not isinstance(value, dict | list):
            return value
        if len(location) == 1 or not place.path[-1].types.isdisjoint(_REPEATING_PARTS):
            return self.remembered(value, location, here)
        return self.walk(value, location, here)

    def remembered(self, value: dict[str, Any] | list[Any], location: Path, here: int) -> Any:
        """A part seen before at this place (an error that repeats repeats its frames) is
        scrubbed as it was then, at the cost of its JSON text and one lookup."""
        try:
            encoded = orjson.dumps(value)
        except (TypeError, orjson.JSONEncodeError):
            return self.walk(value, location, here)
        if len(encoded) > _REMEMBERED_BYTES:
            return self.walk(value, location, here)
        hit = self.index.parts.get((here, encoded))
        if hit is None:
            outer, self.notes = self.notes, Notes()
            try:
                result = self.walk(value, location, here)
                meta = orjson.dumps(self.notes.meta)
            finally:
                self.notes, inner = outer, self.notes
            merge_meta(self.notes.meta, inner.meta)
            self.index.parts[(here, encoded)] = (orjson.dumps(result), meta)
            return result
        result_text, meta = hit
        if meta != b"{}":
            merge_meta(self.notes.meta, orjson.loads(meta))
        return orjson.loads(result_text)

    def walk(self, value: dict[str, Any] | list[Any], location: Path, here: int) -> Any:
        if isinstance(value, dict):
            for child_key, child in list(value.items()):
                name = str(child_key)
                value[child_key] = self.visit(child, name, (*location, name), here)
        elif _is_pair_list(value):
            for index, item in enumerate(value):
                item[1] = self.visit(item[1], item[0], (*location, index, 1), here)
        else:
            for index, item in enumerate(value):
                value[index] = self.visit(item, str(index), (*location, index), here)
        return value

    def text(self, value: str, key: str, location: Path, here: int, rules: tuple[Rule, ...]) -> Any:
        cached = self.index.texts.get((here, value))
        if cached is None and len(value) > _REMEMBERED_BYTES:  # long texts are not kept
            cached = self.scrub_text(value, key, rules)
        elif cached is None:
            cached = self.scrub_text(value, key, rules)
            self.index.texts[(here, value)] = cached
        result, remarks = cached
        if remarks:
            self.notes.annotate(location, rem=[list(r) for r in remarks], len=len(value))
        return result

    def scrub_text(
        self, value: str, key: str, rules: tuple[Rule, ...]
    ) -> tuple[Any, tuple[list[Any], ...]]:
        """The string after ``rules`` and the remarks they made (recorded apart, then cached)."""
        self.notes, outer = Notes(), self.notes
        try:
            result: Any = value
            for rule in rules:
                result = self.apply(rule, result, key, ())
                if result is None:
                    break
            remarks = self.notes.meta.get("", {}).get("rem", [])
        finally:
            self.notes = outer
        return result, tuple(remarks)

    def apply(self, rule: Rule, value: Any, key: str, location: Path) -> Any:
        if rule.whole_value:
            if rule.kind == "password" and not is_sensitive_key(key.lower()):
                return value
            if rule.key_pattern is not None and not rule.key_pattern.search(key):
                return value
            return self.whole(rule, value, location)
        if not isinstance(value, str) or rule.finds is None:
            return value
        return self.in_text(rule, value, location)

    def whole(self, rule: Rule, value: Any, location: Path) -> Any:
        if value is None:
            return None
        redaction = rule.redaction
        original = len(value) if isinstance(value, str) else None
        extra = {"len": original} if original is not None else {}
        self.notes.annotate(location, rem=[[rule.rule_id, _REMARK[redaction.method]]], **extra)
        if redaction.method == "remove":
            return None
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        return _redact_text(text, redaction, 0)

    def in_text(self, rule: Rule, text: str, location: Path) -> Any:
        assert rule.finds is not None
        finds = rule.finds
        pieces: list[tuple[int, int]] = []
        for found in finds.pattern.finditer(text):
            if finds.check is not None and not finds.check(found.group(0)):
                continue
            pieces.extend(span for span in _spans(rule, found) if span[1] > span[0])
        if not pieces:
            return text
        redaction = rule.redaction
        remark = [rule.rule_id, _REMARK[redaction.method]]
        self.notes.annotate(location, rem=[remark], len=len(text))
        if redaction.method == "remove":
            return None
        result, cursor = [], 0
        for start, end in sorted(pieces):
            if start < cursor:
                continue
            result.append(text[cursor:start])
            result.append(_redact_text(text[start:end], redaction, finds.keep_last))
            cursor = end
        result.append(text[cursor:])
        return "".join(result)

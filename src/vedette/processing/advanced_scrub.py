"""Advanced data scrubbing applied: each field of the event, the rules whose selectors match it.

Runs before the default scrubber (processing.scrub), and, as Sentry documents, regardless of
safe fields. Remarks in ``_meta``: ``[rule, "x"]`` removed, ``"s"`` replaced, ``"m"`` masked,
``"p"`` hashed (pseudonymised).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

import orjson

from vedette.processing.pii_config import PiiConfig, Redaction, Rule
from vedette.processing.pii_selectors import Node
from vedette.processing.trim import Notes, Path
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
_CACHED_PATHS = 4096


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


class AdvancedScrubber:
    """One event's pass over the rules of its organization and project."""

    def __init__(self, configs: tuple[PiiConfig, ...], notes: Notes) -> None:
        self.applications = tuple(app for config in configs for app in config.applications)
        self.notes = notes
        self._rules_at: dict[tuple[Node, ...], tuple[Rule, ...]] = {}

    def rules_at(self, path: tuple[Node, ...]) -> tuple[Rule, ...]:
        """The rules whose selectors match ``path``; paths repeat, so decisions are kept."""
        found = self._rules_at.get(path)
        if found is None:
            found = tuple(
                rule for app in self.applications if app.selector.matches(path)
                for rule in app.rules
            )  # fmt: skip
            if len(self._rules_at) < _CACHED_PATHS:
                self._rules_at[path] = found
        return found

    def event(self, event: dict[str, Any]) -> None:
        if not self.applications:
            return
        for key in list(event):
            if key not in UNSCRUBBED_TOP:
                event[key] = self.visit(event[key], key, (key,), (), ())

    def visit(
        self,
        value: Any,
        key: str,
        location: Path,
        parents: tuple[Node, ...],
        inherited: tuple[Rule, ...],
    ) -> Any:
        """Rules selected at a container reach everything inside it (``$frame.vars`` masks
        cards in every variable); ``anything`` takes the container itself."""
        value_type = _value_type(value)
        types = _part_types(location, key)
        node = Node(key.lower(), types | {value_type} if value_type else types)
        path = (*parents, node)
        rules = inherited + tuple(r for r in self.rules_at(path) if r not in inherited)
        for rule in rules:
            value = self.apply(rule, value, key, location)
            if value is None:
                return None
        if len(location) >= _MAX_DEPTH or not isinstance(value, dict | list):
            return value
        passed_on = tuple(rule for rule in rules if rule.kind != "anything")
        if isinstance(value, dict):
            for child_key, child in list(value.items()):
                name = str(child_key)
                value[child_key] = self.visit(child, name, (*location, name), path, passed_on)
        elif _is_pair_list(value):
            for index, item in enumerate(value):
                item[1] = self.visit(item[1], item[0], (*location, index, 1), path, passed_on)
        else:
            for index, item in enumerate(value):
                here = (*location, index)
                value[index] = self.visit(item, str(index), here, path, passed_on)
        return value

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

"""Sentry's advanced data scrubbing rules (``relayPiiConfig``), read and checked.

```json
{"rules": {"order-note": {"type": "pattern", "pattern": "ORD-\\\\d+",
                          "redaction": {"method": "replace", "text": "[order]"}}},
 "applications": {"$string": ["order-note", "@ip:replace"], "$frame.vars.card": ["@anything"]}}
```

Rule types: ``pattern`` (a regex; ``replaceGroups`` narrows it to groups), ``redact_pair``
(``keyPattern``: the value of a matching key), ``anything``, ``password`` (the value of a
sensitive key, as the default scrubber decides), ``multiple`` (``rules``) and ``alias``
(``rule``), plus every data type of ``processing.value_rules.DATA_TYPES`` (``creditcard``,
``email``, ``ip``, ``iban``, ``mac``, ``uuid``, ``imei``, ``usssn``, ``userpath``, ``pemkey``,
``urlauth``, ``bearer`` and each credential format). Built-ins are ``@type`` or
``@type:method``. Methods: ``remove`` (the whole value becomes null), ``replace`` (the match
becomes ``text``), ``mask`` (its characters become ``*``), ``hash`` (its SHA-1, keyed with
``vars.hashKey`` when given). Each redaction is remarked in ``_meta`` under the rule's id.
Applications map selectors (processing.pii_selectors) to rule ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from vedette.processing.pii_selectors import Selector, SelectorError, parse_selector
from vedette.processing.value_rules import DATA_TYPES, DataType

METHODS = ("remove", "replace", "mask", "hash")
# What ``@type`` alone means, as Sentry's built-ins do.
DEFAULT_METHODS = {"creditcard": "mask", "mac": "mask", "uuid": "mask", "usssn": "mask",
                   "password": "remove", "anything": "replace"}  # fmt: skip
WHOLE_VALUE_TYPES = ("anything", "password", "redact_pair")
MAX_RULES = 200
MAX_PATTERN = 1000
FILTERED = "[Filtered]"


class PiiConfigError(ValueError):
    """Why a ``relayPiiConfig`` was refused (the API answers it with a 400)."""


@dataclass(frozen=True, slots=True)
class Redaction:
    method: str
    text: str = FILTERED
    hash_key: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One leaf rule, ready to run. ``kind``: a data-type name, ``pattern``, or a whole-value
    kind (``anything``, ``password``, ``redact_pair``)."""

    rule_id: str
    kind: str
    redaction: Redaction
    finds: DataType | None = None  # what a string-matching rule looks for
    groups: tuple[int | str, ...] = ()
    key_pattern: re.Pattern[str] | None = None

    @property
    def whole_value(self) -> bool:
        return self.kind in WHOLE_VALUE_TYPES


@dataclass(frozen=True, slots=True)
class Application:
    selector: Selector
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class PiiConfig:
    applications: tuple[Application, ...] = ()
    source: str = ""  # the JSON text it was read from


def _builtin(name: str, hash_key: str | None) -> Rule:
    kind, _, method = name[1:].partition(":")
    if kind not in DATA_TYPES and kind not in ("anything", "password"):
        raise PiiConfigError(f"unknown built-in rule {name!r}")
    method = method or DEFAULT_METHODS.get(kind, "replace")
    if method == "filter":
        method = "replace"
    if method not in METHODS:
        raise PiiConfigError(f"unknown method in {name!r}; one of {', '.join(METHODS)}")
    text = FILTERED if kind in ("anything", "password") else f"[{kind}]"
    finds = DATA_TYPES.get(kind)
    return Rule(name, kind, Redaction(method, text, hash_key), finds)


def _redaction(spec: Any, rule_id: str, hash_key: str | None) -> Redaction:
    if spec is None:
        return Redaction("mask", hash_key=hash_key)
    if not isinstance(spec, Mapping) or spec.get("method") not in METHODS:
        raise PiiConfigError(f"rule {rule_id!r}: redaction.method is one of {', '.join(METHODS)}")
    text = spec.get("text", FILTERED)
    if not isinstance(text, str):
        raise PiiConfigError(f"rule {rule_id!r}: redaction.text must be a string")
    return Redaction(spec["method"], text, hash_key)


def _regex(value: Any, rule_id: str, field: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value or len(value) > MAX_PATTERN:
        raise PiiConfigError(f"rule {rule_id!r}: {field} must be a regex of 1-{MAX_PATTERN} chars")
    try:
        return re.compile(value)
    except re.error as error:
        raise PiiConfigError(f"rule {rule_id!r}: {field} is not a valid regex: {error}") from None


class _Reader:
    def __init__(self, rules: Mapping[str, Any], hash_key: str | None) -> None:
        self.specs = rules
        self.hash_key = hash_key
        self.resolving: set[str] = set()

    def resolve(self, rule_id: str, reported_as: str | None = None) -> tuple[Rule, ...]:
        """The leaf rules behind ``rule_id``, remarked under ``reported_as`` when an alias or
        a group does not hide itself."""
        if rule_id.startswith("@"):
            rule = _builtin(rule_id, self.hash_key)
            return (_renamed(rule, reported_as),)
        spec = self.specs.get(rule_id)
        if not isinstance(spec, Mapping):
            raise PiiConfigError(f"no rule named {rule_id!r}")
        if rule_id in self.resolving:
            raise PiiConfigError(f"rule {rule_id!r} refers to itself")
        self.resolving.add(rule_id)
        try:
            return self.leaf_rules(rule_id, spec, reported_as)
        finally:
            self.resolving.discard(rule_id)

    def leaf_rules(
        self, rule_id: str, spec: Mapping[str, Any], reported_as: str | None
    ) -> tuple[Rule, ...]:
        kind = spec.get("type")
        name = reported_as or rule_id
        if kind in ("alias", "multiple"):
            targets = [spec.get("rule")] if kind == "alias" else spec.get("rules")
            if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
                raise PiiConfigError(f"rule {rule_id!r}: {kind} needs rule names")
            outer = None if spec.get("hide") else name
            return tuple(rule for target in targets for rule in self.resolve(target, outer))
        redaction = _redaction(spec.get("redaction"), rule_id, self.hash_key)
        if kind == "pattern":
            pattern = _regex(spec.get("pattern"), rule_id, "pattern")
            groups = spec.get("replaceGroups") or []
            if not isinstance(groups, list) or not all(
                isinstance(g, int) and 0 <= g <= pattern.groups for g in groups
            ):
                raise PiiConfigError(f"rule {rule_id!r}: replaceGroups are group numbers")
            return (Rule(name, "pattern", redaction, DataType(pattern), tuple(groups)),)
        if kind == "redact_pair":
            key = _regex(spec.get("keyPattern"), rule_id, "keyPattern")
            return (Rule(name, "redact_pair", redaction, key_pattern=key),)
        if kind in ("anything", "password"):
            return (Rule(name, kind, redaction),)
        if isinstance(kind, str) and kind in DATA_TYPES:
            return (Rule(name, kind, redaction, DATA_TYPES[kind]),)
        raise PiiConfigError(f"rule {rule_id!r}: unknown type {kind!r}")


def _renamed(rule: Rule, name: str | None) -> Rule:
    if name is None:
        return rule
    return Rule(name, rule.kind, rule.redaction, rule.finds, rule.groups, rule.key_pattern)


def parse_pii_config(text: str | None) -> PiiConfig:
    """A ``relayPiiConfig`` (JSON text, empty or null for none) checked and compiled."""
    if text is None or not text.strip():
        return PiiConfig()
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise PiiConfigError(f"relayPiiConfig is not JSON: {error}") from None
    if not isinstance(document, Mapping):
        raise PiiConfigError("relayPiiConfig must be a JSON object")
    rules = document.get("rules") or {}
    applications = document.get("applications") or {}
    variables = document.get("vars") or {}
    if not isinstance(rules, Mapping) or not isinstance(applications, Mapping):
        raise PiiConfigError("rules and applications must be objects")
    if len(rules) > MAX_RULES or len(applications) > MAX_RULES:
        raise PiiConfigError(f"at most {MAX_RULES} rules and {MAX_RULES} applications")
    hash_key = variables.get("hashKey") if isinstance(variables, Mapping) else None
    reader = _Reader(rules, hash_key if isinstance(hash_key, str) and hash_key else None)
    for rule_id in rules:  # every rule is checked, applied or not
        reader.resolve(str(rule_id))
    compiled: list[Application] = []
    for selector_text, rule_ids in applications.items():
        try:
            selector = parse_selector(str(selector_text))
        except SelectorError as error:
            raise PiiConfigError(f"selector {selector_text!r}: {error}") from None
        if not isinstance(rule_ids, list) or not all(isinstance(r, str) for r in rule_ids):
            raise PiiConfigError(f"selector {selector_text!r}: a list of rule names")
        leaves = tuple(rule for rule_id in rule_ids for rule in reader.resolve(rule_id))
        compiled.append(Application(selector, leaves))
    return PiiConfig(tuple(compiled), text)

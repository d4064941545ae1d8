"""Selectors of Sentry's advanced data scrubbing: which fields of an event a rule applies to.

A selector is a path of segments joined by ``.``: a key (``extra``, ``x-custom``, or quoted
``'a.b'``, compared case-insensitively), ``*`` (any one field), ``**`` (any number of fields),
or a ``$type`` (``$string``, ``$number``, ``$boolean``, ``$object``, ``$array``, and the event's
parts: ``$error``/``$exception``, ``$stack``/``$stacktrace``, ``$frame``, ``$http``/
``$request``, ``$user``, ``$logentry``/``$message``, ``$thread``, ``$breadcrumb``, ``$span``,
``$sdk``). Selectors combine with ``&&``, ``||``, ``!`` and parentheses.

``**`` is any number of fields, but at the end of a path at least one (``extra.**`` is
what ``extra`` holds, so ``extra.** && !extra.keep`` spares ``keep``). A path ends at the
selected field. It starts at the event's root, unless its first segment is
a ``$type`` or ``**``, which match at any depth: ``extra.**`` is everything under the top-level
``extra``, ``$frame.vars`` the variables of every frame, ``$http.headers.x-custom`` one header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VALUE_TYPES = frozenset({"$string", "$number", "$boolean", "$object", "$array"})
PART_TYPES = frozenset(
    {"$error", "$exception", "$stack", "$stacktrace", "$frame", "$http", "$request", "$user",
     "$logentry", "$message", "$thread", "$breadcrumb", "$span", "$sdk"}
)  # fmt: skip


class SelectorError(ValueError):
    """A selector that cannot be read; the message says where."""


@dataclass(frozen=True, slots=True)
class Node:
    """One field on the way from the root to a value: its key (lower-cased) and its types."""

    key: str
    types: frozenset[str]


@dataclass(frozen=True, slots=True)
class PathSelector:
    segments: tuple[str, ...]  # "**" and "*" are wildcards; "$x" types; the rest keys

    def matches(self, path: tuple[Node, ...]) -> bool:
        return _match(self.segments, 0, path, 0)


@dataclass(frozen=True, slots=True)
class Not:
    inner: Selector

    def matches(self, path: tuple[Node, ...]) -> bool:
        return not self.inner.matches(path)


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Selector, ...]

    def matches(self, path: tuple[Node, ...]) -> bool:
        return all(part.matches(path) for part in self.parts)


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Selector, ...]

    def matches(self, path: tuple[Node, ...]) -> bool:
        return any(part.matches(path) for part in self.parts)


Selector = PathSelector | Not | AllOf | AnyOf


def _segment_matches(segment: str, node: Node) -> bool:
    if segment == "*":
        return True
    if segment.startswith("$"):
        return segment in node.types
    return segment == node.key


def _match(segments: tuple[str, ...], at: int, path: tuple[Node, ...], index: int) -> bool:
    if at == len(segments):
        return index == len(path)
    if segments[at] == "**":
        if at == len(segments) - 1:  # trailing: everything under, not the field itself
            return index < len(path)
        return any(_match(segments, at + 1, path, i) for i in range(index, len(path) + 1))
    if index == len(path) or not _segment_matches(segments[at], path[index]):
        return False
    return _match(segments, at + 1, path, index + 1)


_TOKEN = re.compile(r"\s*(\|\||&&|!|\(|\)|'(?:[^']|'')*'|[^\s|&!()']+)")


def _tokens(text: str) -> list[str]:
    found: list[str] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise SelectorError(f"unexpected {text[position : position + 10]!r} in {text!r}")
        found.append(match.group(1))
        position = match.end()
    return found


_SEGMENT = r"'(?:[^']|'')*'|[^.']+"
_PATH = re.compile(rf"(?:{_SEGMENT})(?:\.(?:{_SEGMENT}))*")


def _path(token: str) -> PathSelector:
    """``a.'b.c'.$frame`` -> segments; quoted keys may hold dots (``''`` is a quote)."""
    if not _PATH.fullmatch(token):
        raise SelectorError(f"cannot read path {token!r}")
    segments: list[str] = []
    for match in re.finditer(r"'((?:[^']|'')*)'|([^.']+)", token):
        quoted, plain = match.group(1), match.group(2)
        if quoted is not None:
            segments.append(quoted.replace("''", "'").lower())
            continue
        segment = plain.lower()
        if segment.startswith("$") and segment not in VALUE_TYPES | PART_TYPES:
            raise SelectorError(f"unknown type {plain!r}")
        segments.append(segment)
    if segments[0].startswith("$") or segments[0] == "**":
        segments.insert(0, "**")
    return PathSelector(tuple(segments))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise SelectorError(f"{self.text!r} ends too early")
        self.at += 1
        return token

    def any_of(self) -> Selector:
        parts = [self.all_of()]
        while self.peek() == "||":
            self.take()
            parts.append(self.all_of())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def all_of(self) -> Selector:
        parts = [self.negation()]
        while self.peek() == "&&":
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def negation(self) -> Selector:
        token = self.take()
        if token == "!":
            return Not(self.negation())
        if token == "(":
            inner = self.any_of()
            if self.take() != ")":
                raise SelectorError(f"missing ')' in {self.text!r}")
            return inner
        if token in ("||", "&&", ")"):
            raise SelectorError(f"unexpected {token!r} in {self.text!r}")
        return _path(token)


def parse_selector(text: str) -> Selector:
    if not text.strip():
        raise SelectorError("empty selector")
    parser = _Parser(text)
    selector = parser.any_of()
    if parser.peek() is not None:
        raise SelectorError(f"unexpected {parser.peek()!r} in {text!r}")
    return selector

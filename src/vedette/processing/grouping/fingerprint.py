"""Fingerprints: the SDK's own, its variables, and built-in rules.

See docs/protocol.md, "Grouping" and "Fingerprints and hashes".

Variables are substituted with the *un*parameterised event values, as Sentry does; a whole entry
``{{ default }}`` stands for the default grouping's contributing values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vedette.processing.grouping.frames import family, frame_flags
from vedette.processing.grouping.shape import (
    JsonMap,
    exceptions,
    formatted_message,
    frames,
    interface,
    platform,
    tag_value,
    text,
    values_list,
)

_VARIABLE = re.compile(r"\{\{\s*(\S+?)\s*\}\}")
DEFAULT = "default"


def client_fingerprint(event: JsonMap) -> tuple[str, ...] | None:
    """``event.fingerprint`` as strings (numbers coerced, other entries dropped), or ``None``."""
    raw = event.get("fingerprint")
    if not isinstance(raw, list | tuple):
        return None
    values = tuple(value for value in (text(item) for item in raw) if value is not None)
    return values or None


def variable_name(entry: str) -> str | None:
    """``"{{ error.type }}"`` -> ``"error.type"``; ``None`` unless the whole entry is a variable."""
    match = _VARIABLE.fullmatch(entry.strip())
    return match.group(1).lower() if match else None


def is_default_entry(entry: str) -> bool:
    return variable_name(entry) == DEFAULT


def is_default_fingerprint(values: Sequence[str]) -> bool:
    """``["{{ default }}"]`` (or nothing): grouping exactly as without a fingerprint."""
    return all(is_default_entry(value) for value in values)


def _crash_frame(event: JsonMap) -> JsonMap | None:
    """The frame ``{{ stack.* }}`` variables read: the raised exception's top in-app frame, else
    its top frame."""
    excs = exceptions(event)
    stack = frames(excs[-1].get("stacktrace")) if excs else frames(interface(event, "stacktrace"))
    if not stack:
        threads = values_list(interface(event, "threads"))
        if len(threads) == 1:
            stack = frames(threads[0].get("stacktrace"))
    if not stack:
        return None
    flags = frame_flags(stack, platform(event))
    for frame, flag in zip(reversed(stack), reversed(flags), strict=True):
        if flag.in_app:
            return frame
    return stack[-1]


def _frame_field(*fields: str) -> Callable[[JsonMap], str | None]:
    def read(event: JsonMap) -> str | None:
        frame = _crash_frame(event)
        if frame is None:
            return None
        return next((v for v in (text(frame.get(f)) for f in fields) if v), None)

    return read


def _package(event: JsonMap) -> str | None:
    package = _frame_field("package")(event)
    return package.replace("\\", "/").rsplit("/", 1)[-1] if package else None


def _last_exception(field: str) -> Callable[[JsonMap], str | None]:
    def read(event: JsonMap) -> str | None:
        excs = exceptions(event)
        return text(excs[-1].get(field)) if excs else None

    return read


def _message(event: JsonMap) -> str | None:
    return formatted_message(event) or _last_exception("value")(event)


def _field(name: str) -> Callable[[JsonMap], str | None]:
    return lambda event: text(event.get(name))


# variable -> (reader, placeholder when the event has no such value)
VARIABLES: dict[str, tuple[Callable[[JsonMap], str | None], str]] = {
    "transaction": (_field("transaction"), "<no-transaction>"),
    "message": (_message, "<no-message>"),
    "type": (_last_exception("type"), "<no-type>"),
    "error.type": (_last_exception("type"), "<no-type>"),
    "value": (_last_exception("value"), "<no-value>"),
    "error.value": (_last_exception("value"), "<no-value>"),
    "function": (_frame_field("function"), "<no-function>"),
    "stack.function": (_frame_field("function"), "<no-function>"),
    "path": (_frame_field("abs_path", "filename"), "<no-abs-path>"),
    "stack.abs_path": (_frame_field("abs_path", "filename"), "<no-abs-path>"),
    "stack.filename": (_frame_field("filename", "abs_path"), "<no-filename>"),
    "module": (_frame_field("module"), "<no-module>"),
    "stack.module": (_frame_field("module"), "<no-module>"),
    "package": (_package, "<no-package>"),
    "stack.package": (_package, "<no-package>"),
    "level": (_field("level"), "<no-level>"),
    "logger": (_field("logger"), "<no-logger>"),
}


# Tags Sentry derives from event fields (docs/protocol.md, "Tags"); raw events do not carry
# them as tags yet.
_DERIVED_TAGS = frozenset(
    {"transaction", "level", "logger", "environment", "release", "dist", "server_name"}
)


def _tag(event: JsonMap, key: str) -> str | None:
    found = tag_value(event, key)
    if found is None and key in _DERIVED_TAGS:
        found = text(event.get(key))
    return found


def resolve_variable(name: str, event: JsonMap) -> str | None:
    """The value of one variable, a ``<no-...>`` placeholder, or ``None`` if it is unknown."""
    if name.startswith("tags."):
        tag = name[len("tags.") :]
        return _tag(event, tag) or f"<no-value-for-tag-{tag}>"
    if name not in VARIABLES:
        return None
    read, missing = VARIABLES[name]
    return read(event) or missing


def resolve_entry(entry: str, event: JsonMap) -> str:
    """Substitute variables inside one entry; unknown variables are left as written."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        if name == DEFAULT:
            return match.group(0)
        resolved = resolve_variable(name, event)
        return match.group(0) if resolved is None else resolved

    return _VARIABLE.sub(substitute, entry)


# --- built-in fingerprint rules (Sentry's javascript@2024-02-02 set) ---------------------------


@dataclass(frozen=True, slots=True)
class BuiltinRule:
    """All given matchers must match (globs); ``message`` also checks exception values."""

    fingerprint: tuple[str, ...]
    family: str | None = None
    error_type: str | None = None
    error_value: str | None = None
    message: str | None = None
    tag: tuple[str, str] | None = None


_HYDRATION_MESSAGES = (
    "Hydration failed because the initial UI does not match what was rendered on the server.",
    "The server could not finish this Suspense boundary, likely due to an error during server "
    "rendering. Switched to client rendering.",
    "There was an error while hydrating this Suspense boundary. Switched to client rendering.",
    "There was an error while hydrating. Because the error happened outside of a Suspense "
    "boundary, the entire root will switch to client rendering.",
    "Text content does not match server-rendered HTML.",
)

BUILTIN_RULES: Sequence[BuiltinRule] = (
    BuiltinRule(("chunkloaderror",), family="javascript", error_type="ChunkLoadError"),
    BuiltinRule(("chunkloaderror",), family="javascript", error_value="ChunkLoadError*"),
    *(
        BuiltinRule(
            ("hydrationerror", "{{tags.transaction}}"),
            family="javascript",
            tag=("transaction", "*"),
            message=message,
        )
        for message in _HYDRATION_MESSAGES
    ),
)


def _glob(pattern: str, value: str, *, ignore_case: bool) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return (
        re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
        is not None
    )


def _rule_matches(rule: BuiltinRule, event: JsonMap) -> bool:
    # Cheapest first, and stop at the first miss: every rule is for JavaScript, and reading
    # the exceptions of a 20-frame event for each of seven rules cost 0.1 ms per event.
    if rule.family is not None and family(platform(event)) != rule.family:
        return False
    excs = exceptions(event)
    types = [t for t in (text(e.get("type")) for e in excs) if t]
    values = [v for v in (text(e.get("value")) for e in excs) if v]
    if rule.error_type is not None and not any(
        _glob(rule.error_type, t, ignore_case=False) for t in types
    ):
        return False
    if rule.error_value is not None and not any(
        _glob(rule.error_value, v, ignore_case=True) for v in values
    ):
        return False
    if rule.message is not None and not any(
        _glob(rule.message, m, ignore_case=True) for m in (formatted_message(event), *values) if m
    ):
        return False
    return rule.tag is None or (
        (found := _tag(event, rule.tag[0])) is not None
        and _glob(rule.tag[1], found, ignore_case=False)
    )


def builtin_fingerprint(event: JsonMap) -> tuple[str, ...] | None:
    """The resolved fingerprint of the first matching built-in rule."""
    for rule in BUILTIN_RULES:
        if _rule_matches(rule, event):
            return tuple(resolve_entry(entry, event) for entry in rule.fingerprint)
    return None

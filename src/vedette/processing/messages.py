"""Log messages: ``logentry`` from ``logentry`` or the legacy ``message``, with ``formatted``.

See docs/protocol.md, "Messages". When an SDK sends a template and its parameters without the
rendered text, the text is rendered here, printf-style (``%s``, ``%(name)s``) or brace-style
(``{0}``, ``{name}``), as Sentry does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from vedette.processing.coerce import field_str, lenient_str, mapping, put
from vedette.processing.interfaces.shapes import Json
from vedette.processing.trim import (
    MEDIUM_BAG,
    MESSAGE_CHARS,
    SMALL_BAG,
    Notes,
    trim_bag,
    trim_str,
)

_PRINTF = re.compile(
    r"%(?:\((?P<name>[^)]{0,64})\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"
    r"(?P<conv>[diouxXeEfFgGcrsa%])"
)
_BRACE = re.compile(r"\{(?P<field>[^{}]{0,64})\}")


def normalize_logentry(raw: Mapping[str, object], notes: Notes) -> Json | None:
    """``logentry`` from ``logentry`` or the legacy ``message``; ``formatted`` rendered."""
    given = raw.get("logentry")
    message = raw.get("message")
    entry: Json = {}
    source = mapping(given)
    if source is None and isinstance(given, str):
        source = {"formatted": given}
    if source is not None:
        template = field_str(
            source.get("message"), MESSAGE_CHARS, ("logentry", "message"), notes, strip=False
        )
        formatted = field_str(
            source.get("formatted"), MESSAGE_CHARS, ("logentry", "formatted"), notes, strip=False
        )
        params = source.get("params")
        if isinstance(params, list | tuple | Mapping) and params:
            entry["params"] = trim_bag(params, ("logentry", "params"), notes, MEDIUM_BAG)
        put(entry, "message", template)
        put(entry, "formatted", formatted)
    elif given is not None:
        notes.error("invalid_data", "logentry", given, reason="logentry is not an object")
    if "formatted" not in entry and "message" not in entry:
        legacy = message.get("formatted") if isinstance(message, Mapping) else message
        text = field_str(legacy, MESSAGE_CHARS, ("logentry", "formatted"), notes, strip=False)
        put(entry, "formatted", text)
    if "formatted" not in entry and "message" in entry:
        rendered = render_logentry(entry["message"], entry.get("params"))
        entry["formatted"] = trim_str(rendered, MESSAGE_CHARS, ("logentry", "formatted"), notes)
    if "formatted" not in entry:
        if entry:
            notes.error("missing_attribute", "logentry", None, reason="no message present")
        return None
    return entry


def render_logentry(template: str, params: object) -> str:
    """Render a printf-style (``%s``, ``%(name)s``) or brace-style (``{0}``, ``{name}``) template.

    Placeholders without a matching parameter stay as they are.
    """
    if isinstance(params, list | tuple):
        positional: list[object] = list(params)
        named: Mapping[str, object] = {}
    elif isinstance(params, Mapping):
        positional, named = [], params
    else:
        return template
    if not positional and not named:
        return template
    if "%" in template and _PRINTF.search(template):
        return _render_printf(template, positional, named)
    return _render_braces(template, positional, named)


def _param_text(value: object) -> str:
    if isinstance(value, str):
        return value
    text = lenient_str(value)
    if text is not None and not isinstance(value, bool):
        return text
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(trim_bag(value, (), Notes(), SMALL_BAG))


def _render_printf(template: str, positional: list[object], named: Mapping[str, object]) -> str:
    position = 0

    def substitute(found: re.Match[str]) -> str:
        nonlocal position
        if found.group("conv") == "%":
            return "%"
        name = found.group("name")
        if name is not None:
            return _param_text(named[name]) if name in named else found.group(0)
        if position >= len(positional):
            return found.group(0)
        position += 1
        return _param_text(positional[position - 1])

    return _PRINTF.sub(substitute, template)


def _render_braces(template: str, positional: list[object], named: Mapping[str, object]) -> str:
    position = 0

    def substitute(found: re.Match[str]) -> str:
        nonlocal position
        field = re.split(r"[:!]", found.group("field"), maxsplit=1)[0].strip()
        if field == "":
            if position >= len(positional):
                return found.group(0)
            position += 1
            return _param_text(positional[position - 1])
        if field.isdigit():
            index = int(field)
            return _param_text(positional[index]) if index < len(positional) else found.group(0)
        return _param_text(named[field]) if field in named else found.group(0)

    return _BRACE.sub(substitute, template)

"""A stored event's stack traces, chained exceptions and threads -> what the page shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from vedette.web.remarks import child, filtered_by, meta_at
from vedette.web.view_values import dict_of, int_of, list_of, pretty, text_of, values_of


@dataclass(frozen=True, slots=True)
class ContextLine:
    lineno: int | None
    text: str
    current: bool


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    value: str
    filtered_by: str | None = None  # the scrubbing rules that removed or replaced the value


@dataclass(frozen=True, slots=True)
class Frame:
    filename: str
    function: str
    module: str
    lineno: int | None
    colno: int | None
    in_app: bool
    context: list[ContextLine]
    variables: list[Variable]
    package: str

    @property
    def location(self) -> str:
        where = self.filename or self.module or "?"
        return f"{where}:{self.lineno}" if self.lineno is not None else where


def _frame(raw: object, meta: Mapping[str, Any]) -> Frame:
    f = dict_of(raw)
    lineno = int_of(f.get("lineno"))
    pre = [text_of(line) for line in list_of(f.get("pre_context"))]
    post = [text_of(line) for line in list_of(f.get("post_context"))]
    context: list[ContextLine] = []
    if "context_line" in f:
        start = None if lineno is None else lineno - len(pre)
        for i, line in enumerate(pre):
            context.append(ContextLine(None if start is None else start + i, line, False))
        context.append(ContextLine(lineno, text_of(f.get("context_line")), True))
        for i, line in enumerate(post):
            context.append(ContextLine(None if lineno is None else lineno + 1 + i, line, False))
    variables = [
        Variable(str(k), pretty(v), filtered_by(child(meta, "vars", str(k))))
        for k, v in dict_of(f.get("vars")).items()
    ]
    return Frame(
        filename=text_of(f.get("filename") or f.get("abs_path")),
        function=text_of(f.get("function")),
        module=text_of(f.get("module")),
        lineno=lineno,
        colno=int_of(f.get("colno")),
        in_app=f.get("in_app") is True,
        context=context,
        variables=variables,
        package=text_of(f.get("package")),
    )


@dataclass(frozen=True, slots=True)
class Stacktrace:
    frames: list[Frame]  # most recent call last, as the protocol stores them
    # The frames as the SDK sent them, when source maps resolved some (``raw_stacktrace``).
    raw: Stacktrace | None = None
    # Why some frames stayed minified (the event's ``js_*`` errors), worded for people.
    problems: list[str] = field(default_factory=list)

    @property
    def has_in_app(self) -> bool:
        return any(f.in_app for f in self.frames)

    @property
    def expanded_index(self) -> int | None:
        """The frame opened by default: the most recent in-app frame, else the most recent."""
        for i in range(len(self.frames) - 1, -1, -1):
            if self.frames[i].in_app:
                return i
        return len(self.frames) - 1 if self.frames else None


def stacktrace(raw: object, meta: Mapping[str, Any] | None = None) -> Stacktrace | None:
    """The frames of a stack trace; ``meta`` is its ``_meta`` node (scrubbing remarks)."""
    frames = [
        _frame(f, child(meta or {}, "frames", i))
        for i, f in enumerate(list_of(dict_of(raw).get("frames")))
    ]
    return Stacktrace(frames) if frames else None


@dataclass(frozen=True, slots=True)
class ExceptionView:
    type: str
    value: str
    value_filtered_by: str | None
    module: str
    mechanism: str
    handled: bool | None
    stacktrace: Stacktrace | None


def exceptions(event: Mapping[str, Any]) -> list[ExceptionView]:
    """Chained exceptions as stored: the cause first, the exception raised last at the end
    (Sentry's order, newest last)."""
    found = []
    container = event.get("exception")
    base = ("exception", "values") if isinstance(container, Mapping) else ("exception",)
    problems = source_map_problems(event)
    values = values_of(container)
    for index, raw in enumerate(values):
        e = dict_of(raw)
        mechanism = dict_of(e.get("mechanism"))
        handled = mechanism.get("handled")
        trace = stacktrace(e.get("stacktrace"), meta_at(event, *base, index, "stacktrace"))
        if trace is not None:
            newest = index == len(values) - 1
            trace = replace(
                trace, raw=stacktrace(e.get("raw_stacktrace")), problems=problems if newest else []
            )
        found.append(
            ExceptionView(
                type=text_of(e.get("type")),
                value=text_of(e.get("value")),
                value_filtered_by=filtered_by(meta_at(event, *base, index, "value")),
                module=text_of(e.get("module")),
                mechanism=text_of(mechanism.get("type")),
                handled=handled if isinstance(handled, bool) else None,
                stacktrace=trace,
            )
        )
    return found


_SOURCE_MAP_PROBLEMS = {
    "js_no_source": "No source map was found for {url}",
    "js_invalid_source": "The source map {url} could not be read",
    "js_too_large": "The source map {url} (or its minified file) is too large to read",
    "js_invalid_source_location": "The source map of {url} maps nothing at the frame's position",
}


def source_map_problems(event: Mapping[str, Any]) -> list[str]:
    """The event's source-map errors (processing.sourcemaps), one sentence each."""
    found = []
    for raw in list_of(event.get("errors")):
        error = dict_of(raw)
        template = _SOURCE_MAP_PROBLEMS.get(text_of(error.get("type")))
        if template is not None:
            found.append(template.format(url=text_of(error.get("url")) or "a frame's file"))
    return found[:20]


@dataclass(frozen=True, slots=True)
class ThreadView:
    name: str
    crashed: bool
    current: bool
    stacktrace: Stacktrace


def threads(event: Mapping[str, Any]) -> list[ThreadView]:
    found = []
    for raw in values_of(event.get("threads")):
        t = dict_of(raw)
        trace = stacktrace(t.get("stacktrace"))
        if trace is not None:
            found.append(
                ThreadView(
                    name=text_of(t.get("name") or t.get("id")),
                    crashed=t.get("crashed") is True,
                    current=t.get("current") is True,
                    stacktrace=trace,
                )
            )
    return found

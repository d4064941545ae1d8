"""A stored event (Sentry's event shape) -> what the event section of a page shows.

Pure functions of the event dict. Every value in it is attacker-controlled and may have any
shape: nothing here assumes a type it did not check, and everything that becomes text stays
text (templates escape it). Links are only made of http(s) URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from vedette.web.remarks import child, filtered_by, meta_at

MAX_PRETTY_CHARS = 20_000


def safe_link(value: object) -> str | None:
    """The URL if it may become an href (http or https with a host), else None: a
    ``javascript:``, ``data:`` or relative URL from an event is shown as text, never linked."""
    if not isinstance(value, str) or any(c in value for c in "\r\n\t\x00"):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value.strip()


def pretty(value: object) -> str:
    """A value as readable text: strings as they are, everything else as indented JSON."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = orjson.dumps(
                value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
            ).decode()
        except TypeError:
            text = repr(value)
    if len(text) > MAX_PRETTY_CHARS:
        text = text[:MAX_PRETTY_CHARS] + "\n[... cut for display]"
    return text


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else pretty(value)


def _opt_text(value: object) -> str | None:
    return None if value is None or value == "" else _text(value)


def _values(container: object) -> list[Any]:
    """Sentry's ``{"values": [...]}`` wrapper, or a bare list."""
    if isinstance(container, list):
        return container
    return _list(_dict(container).get("values"))


def fmt_timestamp(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except (OverflowError, OSError, ValueError):
        return None


# -- stack traces -------------------------------------------------------------------------------


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


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _frame(raw: object, meta: Mapping[str, Any]) -> Frame:
    f = _dict(raw)
    lineno = _int(f.get("lineno"))
    pre = [_text(line) for line in _list(f.get("pre_context"))]
    post = [_text(line) for line in _list(f.get("post_context"))]
    context: list[ContextLine] = []
    if "context_line" in f:
        start = None if lineno is None else lineno - len(pre)
        for i, line in enumerate(pre):
            context.append(ContextLine(None if start is None else start + i, line, False))
        context.append(ContextLine(lineno, _text(f.get("context_line")), True))
        for i, line in enumerate(post):
            context.append(ContextLine(None if lineno is None else lineno + 1 + i, line, False))
    variables = [
        Variable(str(k), pretty(v), filtered_by(child(meta, "vars", str(k))))
        for k, v in _dict(f.get("vars")).items()
    ]
    return Frame(
        filename=_text(f.get("filename") or f.get("abs_path")),
        function=_text(f.get("function")),
        module=_text(f.get("module")),
        lineno=lineno,
        colno=_int(f.get("colno")),
        in_app=f.get("in_app") is True,
        context=context,
        variables=variables,
        package=_text(f.get("package")),
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
        for i, f in enumerate(_list(_dict(raw).get("frames")))
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
    values = _values(container)
    for index, raw in enumerate(values):
        e = _dict(raw)
        mechanism = _dict(e.get("mechanism"))
        handled = mechanism.get("handled")
        trace = stacktrace(e.get("stacktrace"), meta_at(event, *base, index, "stacktrace"))
        if trace is not None:
            newest = index == len(values) - 1
            trace = replace(
                trace, raw=stacktrace(e.get("raw_stacktrace")), problems=problems if newest else []
            )
        found.append(
            ExceptionView(
                type=_text(e.get("type")),
                value=_text(e.get("value")),
                value_filtered_by=filtered_by(meta_at(event, *base, index, "value")),
                module=_text(e.get("module")),
                mechanism=_text(mechanism.get("type")),
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
    for raw in _list(event.get("errors")):
        error = _dict(raw)
        template = _SOURCE_MAP_PROBLEMS.get(_text(error.get("type")))
        if template is not None:
            found.append(template.format(url=_text(error.get("url")) or "a frame's file"))
    return found[:20]


@dataclass(frozen=True, slots=True)
class ThreadView:
    name: str
    crashed: bool
    current: bool
    stacktrace: Stacktrace


def threads(event: Mapping[str, Any]) -> list[ThreadView]:
    found = []
    for raw in _values(event.get("threads")):
        t = _dict(raw)
        trace = stacktrace(t.get("stacktrace"))
        if trace is not None:
            found.append(
                ThreadView(
                    name=_text(t.get("name") or t.get("id")),
                    crashed=t.get("crashed") is True,
                    current=t.get("current") is True,
                    stacktrace=trace,
                )
            )
    return found


# -- the other interfaces -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Breadcrumb:
    time: str | None
    type: str
    category: str
    level: str
    message: str
    data: str | None


def breadcrumbs(event: Mapping[str, Any]) -> list[Breadcrumb]:
    found = []
    for raw in _values(event.get("breadcrumbs")):
        b = _dict(raw)
        data = b.get("data")
        found.append(
            Breadcrumb(
                time=fmt_timestamp(b.get("timestamp")),
                type=_text(b.get("type") or "default"),
                category=_text(b.get("category")),
                level=_text(b.get("level") or "info"),
                message=_text(b.get("message")),
                data=pretty(data) if data else None,
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class Pair:
    key: str
    value: str
    link: str | None = None
    filtered_by: str | None = None  # the scrubbing rules that removed or replaced the value


def _pairs(value: object, meta: Mapping[str, Any]) -> list[Pair]:
    """Headers, cookies, env: a mapping or a list of [key, value] pairs."""
    if isinstance(value, Mapping):
        return [
            Pair(str(k), _text(v), filtered_by=filtered_by(child(meta, str(k))))
            for k, v in value.items()
        ] + _removed(meta, value)
    pairs = []
    for index, item in enumerate(_list(value)):
        if isinstance(item, list | tuple) and len(item) == 2:
            remark = filtered_by(child(meta, index, 1))
            pairs.append(Pair(_text(item[0]), _text(item[1]), filtered_by=remark))
    return pairs


@dataclass(frozen=True, slots=True)
class RequestView:
    method: str
    url: str
    link: str | None
    query: str
    headers: list[Pair]
    cookies: list[Pair]
    data: str | None
    env: list[Pair]


def request(event: Mapping[str, Any]) -> RequestView | None:
    r = _dict(event.get("request"))
    if not r:
        return None
    query = r.get("query_string")
    query_text = (
        "&".join(f"{p.key}={p.value}" for p in _pairs(query, {}))
        if isinstance(query, list | Mapping)
        else _text(query)
    )
    data = r.get("data")
    cookies = r.get("cookies")
    return RequestView(
        method=_text(r.get("method")),
        url=_text(r.get("url")),
        link=safe_link(r.get("url")),
        query=query_text,
        headers=_pairs(r.get("headers"), meta_at(event, "request", "headers")),
        cookies=(
            _pairs(cookies, meta_at(event, "request", "cookies"))
            if not isinstance(cookies, str)
            else [Pair("", cookies)]
        ),
        data=None if data is None or data == "" else pretty(data),
        env=_pairs(r.get("env"), meta_at(event, "request", "env")),
    )


def user(event: Mapping[str, Any]) -> list[Pair]:
    meta = meta_at(event, "user")
    fields = _dict(event.get("user"))
    return [
        Pair(str(k), _text(v), filtered_by=filtered_by(child(meta, str(k))))
        for k, v in fields.items()
        if (v is not None and v != "") or filtered_by(child(meta, str(k)))
    ] + _removed(meta, fields)


def _removed(meta: Mapping[str, Any], present: Mapping[str, Any]) -> list[Pair]:
    """Fields scrubbing took away altogether (``user.ip_address``), named by their rule."""
    return [
        Pair(key, "", filtered_by=rules)
        for key in meta
        if key and key not in present and (rules := filtered_by(child(meta, key)))
    ]


@dataclass(frozen=True, slots=True)
class ContextView:
    name: str
    type: str
    fields: list[Pair]
    trace_id: str | None = None
    profile_id: str | None = None  # contexts.profile: the event's profile (docs/profiles.md)


def _hex(value: object, length: int) -> str | None:
    if isinstance(value, str):
        text = value.replace("-", "").lower()
        if len(text) == length and all(c in "0123456789abcdef" for c in text):
            return text
    return None


def trace_id(event: Mapping[str, Any]) -> str | None:
    return _hex(_dict(_dict(event.get("contexts")).get("trace")).get("trace_id"), 32)


def profile_path(event: Mapping[str, Any]) -> str | None:
    """Where the event's profile is shown, under the project's pages: its transaction profile
    (``contexts.profile.profile_id``), or the samples its continuous profiler took while it
    ran (``contexts.profile.profiler_id``); None without either (docs/profiles.md)."""
    context = _dict(_dict(event.get("contexts")).get("profile"))
    profile_id = _hex(context.get("profile_id"), 32)
    if profile_id is not None:
        return f"/profiles/{profile_id}/"
    profiler_id = _hex(context.get("profiler_id"), 32)
    start, end = event.get("start_timestamp"), event.get("timestamp")
    if profiler_id is None or not isinstance(start, float) or not isinstance(end, float):
        return None
    if not 0 < end - start <= 86400:
        return None
    return f"/profiling/?profiler_id={profiler_id}&start={start!r}&end={end!r}"


def contexts(event: Mapping[str, Any]) -> list[ContextView]:
    found = []
    for name, raw in sorted(_dict(event.get("contexts")).items(), key=lambda kv: str(kv[0])):
        ctx = _dict(raw)
        meta = meta_at(event, "contexts", str(name))
        fields = [
            Pair(str(k), _text(v), safe_link(v), filtered_by(child(meta, str(k))))
            for k, v in ctx.items()
            if k != "type"
        ]
        found.append(
            ContextView(
                name=str(name),
                type=_text(ctx.get("type") or name),
                fields=fields,
                trace_id=_hex(ctx.get("trace_id"), 32) if str(name) == "trace" else None,
                profile_id=_hex(ctx.get("profile_id"), 32) if str(name) == "profile" else None,
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class SdkView:
    name: str
    version: str
    integrations: list[str]
    packages: list[str]


def sdk(event: Mapping[str, Any]) -> SdkView | None:
    s = _dict(event.get("sdk"))
    if not s:
        return None
    packages = []
    for p in _list(s.get("packages")):
        pd = _dict(p)
        packages.append(f"{_text(pd.get('name'))} {_text(pd.get('version'))}".strip())
    return SdkView(
        name=_text(s.get("name")),
        version=_text(s.get("version")),
        integrations=[_text(i) for i in _list(s.get("integrations"))],
        packages=packages,
    )


def tags(event: Mapping[str, Any]) -> list[Pair]:
    found = []
    for item in _list(event.get("tags")):
        if isinstance(item, list | tuple) and len(item) == 2:
            found.append(Pair(_text(item[0]), _text(item[1])))
    return found


def message(event: Mapping[str, Any]) -> str | None:
    logentry = _dict(event.get("logentry"))
    text = logentry.get("formatted") or logentry.get("message")
    if text:
        return _text(text)
    return _opt_text(event.get("message"))


@dataclass(frozen=True, slots=True)
class PerformanceEvidence:
    """What a performance issue's occurrence says (N+1 queries, slow DB query)."""

    kind: str
    transaction_event_id: str | None
    repeating_spans: str
    offenders: int
    duration_ms: float | None


def performance_evidence(event: Mapping[str, Any]) -> PerformanceEvidence | None:
    occurrence = _dict(event.get("occurrence"))
    if event.get("type") != "performance" or not occurrence:
        return None
    evidence = _dict(occurrence.get("evidence"))
    duration = evidence.get("total_duration_ms", evidence.get("duration_ms"))
    return PerformanceEvidence(
        kind=_text(occurrence.get("type")),
        transaction_event_id=_hex(occurrence.get("transaction_event_id"), 32),
        repeating_spans=_text(evidence.get("repeating_spans")),
        offenders=len(_list(evidence.get("offender_span_ids"))),
        duration_ms=float(duration) if isinstance(duration, int | float) else None,
    )


@dataclass(frozen=True, slots=True)
class EventView:
    event_id: str
    time: str | None
    received: str | None
    platform: str
    level: str
    release: str | None
    environment: str | None
    transaction: str | None
    server_name: str | None
    message: str | None
    exceptions: list[ExceptionView]
    threads: list[ThreadView]
    breadcrumbs: list[Breadcrumb]
    request: RequestView | None
    user: list[Pair]
    contexts: list[ContextView]
    trace_id: str | None
    sdk: SdkView | None
    tags: list[Pair]
    extra: list[Pair]
    fingerprint: list[str] = field(default_factory=list)
    performance: PerformanceEvidence | None = None


def event_view(event: Mapping[str, Any]) -> EventView:
    return EventView(
        event_id=_text(event.get("event_id")),
        time=fmt_timestamp(event.get("timestamp")),
        received=fmt_timestamp(event.get("received")),
        platform=_text(event.get("platform")),
        level=_text(event.get("level") or "error"),
        release=_opt_text(event.get("release")),
        environment=_opt_text(event.get("environment")),
        transaction=_opt_text(event.get("transaction")),
        server_name=_opt_text(event.get("server_name")),
        message=message(event),
        exceptions=exceptions(event),
        threads=threads(event),
        breadcrumbs=breadcrumbs(event),
        request=request(event),
        user=user(event),
        contexts=contexts(event),
        trace_id=trace_id(event),
        sdk=sdk(event),
        tags=tags(event),
        extra=[
            Pair(str(k), pretty(v), filtered_by=filtered_by(meta_at(event, "extra", str(k))))
            for k, v in _dict(event.get("extra")).items()
        ],
        fingerprint=[_text(f) for f in _list(event.get("fingerprint"))],
        performance=performance_evidence(event),
    )

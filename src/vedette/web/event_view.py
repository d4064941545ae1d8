"""A stored event (Sentry's event shape) -> what the event section of a page shows.

Pure functions of the event dict, read through view_values (every value is attacker-controlled);
stack traces, exceptions and threads are in stack_view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vedette.web.remarks import child, filtered_by, meta_at
from vedette.web.stack_view import ExceptionView, ThreadView, exceptions, threads
from vedette.web.view_values import (
    dict_of,
    fmt_timestamp,
    list_of,
    opt_text,
    pretty,
    safe_link,
    text_of,
    values_of,
)


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
    for raw in values_of(event.get("breadcrumbs")):
        b = dict_of(raw)
        data = b.get("data")
        found.append(
            Breadcrumb(
                time=fmt_timestamp(b.get("timestamp")),
                type=text_of(b.get("type") or "default"),
                category=text_of(b.get("category")),
                level=text_of(b.get("level") or "info"),
                message=text_of(b.get("message")),
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
            Pair(str(k), text_of(v), filtered_by=filtered_by(child(meta, str(k))))
            for k, v in value.items()
        ] + _removed(meta, value)
    pairs = []
    for index, item in enumerate(list_of(value)):
        if isinstance(item, list | tuple) and len(item) == 2:
            remark = filtered_by(child(meta, index, 1))
            pairs.append(Pair(text_of(item[0]), text_of(item[1]), filtered_by=remark))
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
    r = dict_of(event.get("request"))
    if not r:
        return None
    query = r.get("query_string")
    query_text = (
        "&".join(f"{p.key}={p.value}" for p in _pairs(query, {}))
        if isinstance(query, list | Mapping)
        else text_of(query)
    )
    data = r.get("data")
    cookies = r.get("cookies")
    return RequestView(
        method=text_of(r.get("method")),
        url=text_of(r.get("url")),
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
    fields = dict_of(event.get("user"))
    return [
        Pair(str(k), text_of(v), filtered_by=filtered_by(child(meta, str(k))))
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
    return _hex(dict_of(dict_of(event.get("contexts")).get("trace")).get("trace_id"), 32)


def profile_path(event: Mapping[str, Any]) -> str | None:
    """Where the event's profile is shown, under the project's pages: its transaction profile
    (``contexts.profile.profile_id``), or the samples its continuous profiler took while it
    ran (``contexts.profile.profiler_id``); None without either (docs/profiles.md)."""
    context = dict_of(dict_of(event.get("contexts")).get("profile"))
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
    for name, raw in sorted(dict_of(event.get("contexts")).items(), key=lambda kv: str(kv[0])):
        ctx = dict_of(raw)
        meta = meta_at(event, "contexts", str(name))
        fields = [
            Pair(str(k), text_of(v), safe_link(v), filtered_by(child(meta, str(k))))
            for k, v in ctx.items()
            if k != "type"
        ]
        found.append(
            ContextView(
                name=str(name),
                type=text_of(ctx.get("type") or name),
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
    s = dict_of(event.get("sdk"))
    if not s:
        return None
    packages = []
    for p in list_of(s.get("packages")):
        pd = dict_of(p)
        packages.append(f"{text_of(pd.get('name'))} {text_of(pd.get('version'))}".strip())
    return SdkView(
        name=text_of(s.get("name")),
        version=text_of(s.get("version")),
        integrations=[text_of(i) for i in list_of(s.get("integrations"))],
        packages=packages,
    )


def tags(event: Mapping[str, Any]) -> list[Pair]:
    found = []
    for item in list_of(event.get("tags")):
        if isinstance(item, list | tuple) and len(item) == 2:
            found.append(Pair(text_of(item[0]), text_of(item[1])))
    return found


def message(event: Mapping[str, Any]) -> str | None:
    logentry = dict_of(event.get("logentry"))
    text = logentry.get("formatted") or logentry.get("message")
    if text:
        return text_of(text)
    return opt_text(event.get("message"))


@dataclass(frozen=True, slots=True)
class PerformanceEvidence:
    """What a performance issue's occurrence says (N+1 queries, slow DB query)."""

    kind: str
    transaction_event_id: str | None
    repeating_spans: str
    offenders: int
    duration_ms: float | None


def performance_evidence(event: Mapping[str, Any]) -> PerformanceEvidence | None:
    occurrence = dict_of(event.get("occurrence"))
    if event.get("type") != "performance" or not occurrence:
        return None
    evidence = dict_of(occurrence.get("evidence"))
    duration = evidence.get("total_duration_ms", evidence.get("duration_ms"))
    return PerformanceEvidence(
        kind=text_of(occurrence.get("type")),
        transaction_event_id=_hex(occurrence.get("transaction_event_id"), 32),
        repeating_spans=text_of(evidence.get("repeating_spans")),
        offenders=len(list_of(evidence.get("offender_span_ids"))),
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
        event_id=text_of(event.get("event_id")),
        time=fmt_timestamp(event.get("timestamp")),
        received=fmt_timestamp(event.get("received")),
        platform=text_of(event.get("platform")),
        level=text_of(event.get("level") or "error"),
        release=opt_text(event.get("release")),
        environment=opt_text(event.get("environment")),
        transaction=opt_text(event.get("transaction")),
        server_name=opt_text(event.get("server_name")),
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
            for k, v in dict_of(event.get("extra")).items()
        ],
        fingerprint=[text_of(f) for f in list_of(event.get("fingerprint"))],
        performance=performance_evidence(event),
    )

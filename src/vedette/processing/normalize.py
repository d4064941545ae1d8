"""Event normalisation: one untrusted payload in, Sentry's stored event shape out.

A pure function of ``(payload, context)`` doing steps 2 to 7 of docs/protocol.md, "Event
normalisation" (decoding is the caller's step 1; scrubbing, ``scrub.py``, comes after). It never
raises on any JSON object: fields are coerced or dropped, problems land in ``errors`` and cuts in
``_meta``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from vedette.domain.envelope import normalize_event_id
from vedette.domain.events import NormalizedEvent
from vedette.processing.attributes import normalize_environment, normalize_scalars
from vedette.processing.coerce import is_mapping, mapping, put, valid_ip
from vedette.processing.interfaces.breadcrumbs import normalize_breadcrumbs
from vedette.processing.interfaces.contexts import add_user_agent_contexts, normalize_contexts
from vedette.processing.interfaces.exception import normalize_exceptions
from vedette.processing.interfaces.request import normalize_request, request_header
from vedette.processing.interfaces.sdk import normalize_sdk
from vedette.processing.interfaces.shapes import Json
from vedette.processing.interfaces.stacktrace import normalize_stacktrace
from vedette.processing.interfaces.threads import normalize_threads
from vedette.processing.interfaces.transaction import (
    normalize_measurements,
    normalize_spans,
    normalize_transaction_info,
)
from vedette.processing.interfaces.user import normalize_user
from vedette.processing.messages import normalize_logentry
from vedette.processing.tags import user_tags, with_derived_tags
from vedette.processing.timestamps import format_timestamp, parse_timestamp
from vedette.processing.trim import (
    CONTEXT_BAG,
    EXTRA_BAG,
    EXTRA_VALUE_BAG,
    MEDIUM_BAG,
    OPAQUE_BAG,
    PATH_CHARS,
    SMALL_BAG,
    SYMBOL_CHARS,
    Notes,
    clean_str,
    merge_meta,
    trim_bag,
)

__all__ = ["NormalizeContext", "normalize_event", "validate_transaction"]

# docs/protocol.md, "Timestamps": Relay's MINIMUM_CLOCK_DRIFT and its max_secs_in_future /
# max_secs_in_past defaults.
MIN_CLOCK_DRIFT = 55 * 60.0
MAX_SECS_IN_FUTURE = 60.0
MAX_SECS_IN_PAST = 30 * 24 * 3600.0

# Platforms for which Relay fills a missing user IP from the connecting address.
_INFER_IP_PLATFORMS = frozenset({"javascript", "cocoa", "objc"})


# Legacy interface names: the oldest SDKs and stored samples use them.
_LEGACY_ALIASES = {
    "sentry.interfaces.Exception": "exception",
    "sentry.interfaces.Message": "logentry",
    "sentry.interfaces.Stacktrace": "stacktrace",
    "sentry.interfaces.Http": "request",
    "sentry.interfaces.User": "user",
    "sentry.interfaces.Breadcrumbs": "breadcrumbs",
    "sentry.interfaces.Contexts": "contexts",
    "sentry.interfaces.Template": "template",
    "sentry.interfaces.Threads": "threads",
    "sentry.interfaces.DebugMeta": "debug_meta",
    "sentry.interfaces.Csp": "csp",
    "sentry.interfaces.Hpkp": "hpkp",
    "sentry.interfaces.ExpectCT": "expectct",
    "sentry.interfaces.ExpectStaple": "expectstaple",
}
# Top-level keys a server sets itself: dropped quietly when a client sends them.
_SERVER_KEYS = frozenset(
    {"received", "project", "key_id", "grouping_config", "ingest_path", "_metrics", "_dsc",
     "_metrics_summary", "_performance_issues_spans"}
)  # fmt: skip
# Every top-level key normalize_event understands (after alias resolution).
_KNOWN_KEYS = frozenset(
    {"event_id", "timestamp", "start_timestamp", "type", "platform", "level", "logger",
     "transaction", "transaction_info", "server_name", "release", "dist", "environment",
     "tags", "fingerprint", "modules", "extra", "message", "logentry", "exception",
     "threads", "stacktrace", "breadcrumbs", "contexts", "request", "user", "sdk",
     "debug_meta", "errors", "_meta", "culprit", "site", "checksum", "time_spent",
     "version", "spans", "measurements", "breakdowns", "template", "csp", "hpkp",
     "expectct", "expectstaple", "scraping_attempts"}
)  # fmt: skip
_SECURITY_TYPES = ("csp", "hpkp", "expectct", "expectstaple")
_OPAQUE_BAGS = {
    "debug_meta": OPAQUE_BAG,
    "template": MEDIUM_BAG,
    "csp": CONTEXT_BAG,
    "hpkp": CONTEXT_BAG,
    "expectct": CONTEXT_BAG,
    "expectstaple": CONTEXT_BAG,
    "breakdowns": SMALL_BAG,
    "scraping_attempts": SMALL_BAG,
}


@dataclass(frozen=True, slots=True)
class NormalizeContext:
    received: float  # server receive time, unix seconds
    event_id: str | None = None  # from the envelope header; wins over the payload's
    sent_at: float | None = None  # envelope header sent_at parsed to unix seconds (clock drift)
    client_ip: str | None = None  # connecting IP, replaces "{{auto}}"
    platform_hint: str | None = None


def normalize_event(payload: Mapping[str, object], ctx: NormalizeContext) -> NormalizedEvent:
    """Sentry's stored event shape from one decoded event/transaction payload."""
    notes = Notes()
    raw = _resolve_aliases(payload, notes)
    event: dict[str, Any] = {"event_id": _event_id(raw, ctx, notes)}
    is_transaction = raw.get("type") == "transaction"
    normalize_scalars(raw, event, ctx.platform_hint, notes, transaction=is_transaction)
    _normalize_interfaces(raw, event, ctx, notes, transaction=is_transaction)
    event["type"] = _event_type(event, transaction=is_transaction)
    _normalize_times(raw, event, ctx, notes)
    _normalize_tags(raw, event, notes)
    _finish_meta(raw, event, notes)
    # Built key by key, in the order Sentry stores them (the stored JSON keeps that order), which
    # a TypedDict literal cannot express; test_normalize checks the keys against NormalizedEvent.
    return cast(NormalizedEvent, event)


# -- step 2: aliases and ids ---------------------------------------------------------------


def _resolve_aliases(payload: Mapping[str, object], notes: Notes) -> dict[str, object]:
    """Legacy ``sentry.interfaces.*`` keys renamed; unknown keys removed with an error."""
    raw: dict[str, object] = {}
    for key, value in payload.items():
        if not isinstance(key, str):
            continue
        name = _LEGACY_ALIASES.get(key, key)
        if name in _KNOWN_KEYS:
            if name not in raw or name == key:  # the canonical key wins over its alias
                raw[name] = value
        elif name not in _SERVER_KEYS:
            notes.error("invalid_attribute", clean_str(name)[:SYMBOL_CHARS])
    return raw


def _event_id(raw: Mapping[str, object], ctx: NormalizeContext, notes: Notes) -> str:
    from_header = normalize_event_id(ctx.event_id)
    if from_header is not None:
        return from_header
    given = raw.get("event_id")
    from_payload = normalize_event_id(given)
    if from_payload is not None:
        return from_payload
    if given is not None:
        notes.error("invalid_data", "event_id", given, reason="not a 32-digit hex id")
    return uuid.uuid4().hex


# -- step 4: interfaces ----------------------------------------------------------------------


def _normalize_interfaces(
    raw: Mapping[str, object],
    event: dict[str, Any],
    ctx: NormalizeContext,
    notes: Notes,
    *,
    transaction: bool,
) -> None:
    put(event, "logentry", normalize_logentry(raw, notes))
    exceptions = normalize_exceptions(raw.get("exception"), ("exception",), notes)
    stacktrace = normalize_stacktrace(raw.get("stacktrace"), ("stacktrace",), notes)
    if stacktrace is not None and len(exceptions) == 1 and "stacktrace" not in exceptions[0]:
        exceptions[0]["stacktrace"] = stacktrace  # Relay moves a lone stacktrace in
    elif stacktrace is not None:
        event["stacktrace"] = stacktrace
    if exceptions:
        event["exception"] = {"values": exceptions}
    threads = normalize_threads(raw.get("threads"), ("threads",), notes)
    if threads:
        event["threads"] = {"values": threads}
    event["breadcrumbs"] = {
        "values": normalize_breadcrumbs(raw.get("breadcrumbs"), ("breadcrumbs",), notes)
    }
    request = normalize_request(raw.get("request"), ("request",), notes)
    put(event, "request", request)
    put(event, "sdk", normalize_sdk(raw.get("sdk"), ("sdk",), notes))  # before the user's IP
    user = normalize_user(raw.get("user"), ("user",), notes, ctx.client_ip)
    user = _backfill_user_ip(user, request, event, ctx)
    put(event, "user", user)
    contexts = normalize_contexts(
        raw.get("contexts"), ("contexts",), notes, transaction=transaction
    )
    if transaction and "trace" not in contexts:
        contexts["trace"] = {"type": "trace", "status": "unknown", "op": "default"}
    add_user_agent_contexts(contexts, request_header(request, "User-Agent"))
    event["contexts"] = contexts
    put(event, "transaction_info", _transaction_info(raw, notes))
    event["extra"] = _extra(raw.get("extra"), notes)
    for key, limit in _OPAQUE_BAGS.items():
        if is_mapping(bag := raw.get(key)) or isinstance(bag, list):
            event[key] = trim_bag(bag, (key,), notes, limit)
    if transaction:
        event["spans"] = normalize_spans(raw.get("spans"), ("spans",), notes)
        event["measurements"] = normalize_measurements(
            raw.get("measurements"), ("measurements",), notes
        )
    else:
        event.pop("breakdowns", None)


def _transaction_info(raw: Mapping[str, object], notes: Notes) -> Json | None:
    return normalize_transaction_info(raw.get("transaction_info"), ("transaction_info",), notes)


def _extra(value: object, notes: Notes) -> dict[str, Any]:
    """``extra``: each value ≤16 KiB, the whole bag ≤256 KiB."""
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", "extra", value, reason="extra is not an object")
        return {}
    per_key = {
        clean_str(str(key))[:PATH_CHARS]: trim_bag(
            item, ("extra", str(key)), notes, EXTRA_VALUE_BAG
        )
        for key, item in raw.items()
    }
    trimmed = trim_bag(per_key, ("extra",), notes, EXTRA_BAG)
    return trimmed if isinstance(trimmed, dict) else {}


def _backfill_user_ip(
    user: Json | None, request: Json | None, event: Mapping[str, Any], ctx: NormalizeContext
) -> Json | None:
    """Relay copies ``request.env.REMOTE_ADDR`` into the user, and infers it for browsers."""
    if user is not None and "ip_address" in user:
        return user
    env = request.get("env") if request is not None else None
    ip = valid_ip(env.get("REMOTE_ADDR")) if isinstance(env, dict) else None
    if ip is None:
        sdk = event.get("sdk")
        settings = sdk.get("settings") if isinstance(sdk, dict) else None
        infer = settings.get("infer_ip") if isinstance(settings, dict) else None
        if event.get("platform") in _INFER_IP_PLATFORMS or infer == "auto":
            ip = valid_ip(ctx.client_ip)
    if ip is None:
        return user
    return {**(user or {}), "ip_address": ip}


def _event_type(event: Mapping[str, Any], *, transaction: bool) -> str:
    if transaction:
        return "transaction"
    if "exception" in event:
        return "error"
    for kind in _SECURITY_TYPES:
        if kind in event:
            return kind
    return "default"


# -- step 5: timestamps and clock drift -----------------------------------------------------


def _normalize_times(
    raw: Mapping[str, object], event: dict[str, Any], ctx: NormalizeContext, notes: Notes
) -> None:
    received = ctx.received
    event["received"] = received
    timestamp = _event_timestamp(raw, "timestamp", notes)
    event["timestamp"] = received if timestamp is None else timestamp
    start = _event_timestamp(raw, "start_timestamp", notes)
    if start is not None and event["type"] == "transaction":
        event["start_timestamp"] = start
    if ctx.sent_at is not None and timestamp is not None:
        drift = received - ctx.sent_at
        if abs(drift) >= MIN_CLOCK_DRIFT:
            notes.error(
                "clock_drift",
                "sent_at",
                format_timestamp(ctx.sent_at),
                sdk_time=format_timestamp(ctx.sent_at),
                server_time=format_timestamp(received),
            )
            _shift_timestamps(event, drift)
    stamp = event["timestamp"]
    if stamp > received + MAX_SECS_IN_FUTURE or stamp < received - MAX_SECS_IN_PAST:
        kind = "future_timestamp" if stamp > received else "past_timestamp"
        notes.error(
            kind,
            "timestamp",
            format_timestamp(stamp),
            sdk_time=format_timestamp(stamp),
            server_time=format_timestamp(received),
        )
        _shift_timestamps(event, received - stamp)


def _event_timestamp(raw: Mapping[str, object], key: str, notes: Notes) -> float | None:
    given = raw.get(key)
    stamp = parse_timestamp(given)
    if stamp is None and given is not None:
        notes.error("invalid_data", key, given, reason="invalid timestamp")
    return stamp


def _shift_timestamps(event: dict[str, Any], delta: float) -> None:
    """Move every timestamp of the event by ``delta`` seconds (Relay's ClockDriftProcessor)."""
    for key in ("timestamp", "start_timestamp"):
        if isinstance(event.get(key), float):
            event[key] = max(event[key] + delta, 0.0)
    for crumb in event["breadcrumbs"]["values"]:
        if isinstance(crumb.get("timestamp"), float):
            crumb["timestamp"] = max(crumb["timestamp"] + delta, 0.0)
    for span in event.get("spans", ()):
        for key in ("start_timestamp", "timestamp"):
            if isinstance(span.get(key), float):
                span[key] = max(span[key] + delta, 0.0)


# -- step 6: tags ------------------------------------------------------------------------------


def _normalize_tags(raw: Mapping[str, object], event: dict[str, Any], notes: Notes) -> None:
    tags, environment_tag = user_tags(raw.get("tags"), notes)
    if "environment" not in event and environment_tag is not None:
        put(event, "environment", normalize_environment(environment_tag, notes))
    event["tags"] = with_derived_tags(tags, event)


# -- step 7: _meta and errors ------------------------------------------------------------------


def _finish_meta(raw: Mapping[str, object], event: dict[str, Any], notes: Notes) -> None:
    errors: list[Any] = []
    given_errors = raw.get("errors")
    if isinstance(given_errors, list):
        for item in given_errors[:50]:
            if isinstance(item, Mapping) and isinstance(item.get("type"), str):
                errors.append(trim_bag(item, ("errors",), Notes(), SMALL_BAG))
    errors.extend(notes.errors)
    if notes.dropped_errors:
        errors.append({"type": "too_many_errors", "name": "errors", "value": notes.dropped_errors})
    if errors:
        event["errors"] = errors
    meta: dict[str, Any] = {}
    given_meta = raw.get("_meta")
    if isinstance(given_meta, Mapping):
        kept = trim_bag(given_meta, (), Notes(), OPAQUE_BAG)
        if isinstance(kept, dict):
            meta = kept
    merge_meta(meta, notes.meta)
    if meta:
        event["_meta"] = meta


def validate_transaction(event: NormalizedEvent) -> str | None:
    """Why Relay would reject this normalised transaction, or None when it is valid.

    See docs/protocol.md, "Transactions and spans".
    """
    start = event.get("start_timestamp")
    end = event.get("timestamp")
    if not isinstance(start, float):
        return "missing start_timestamp"
    if not isinstance(end, float):
        return "missing timestamp"
    if start > end:
        return "start_timestamp is after timestamp"
    contexts = event.get("contexts")
    trace = contexts.get("trace") if isinstance(contexts, Mapping) else None
    if not isinstance(trace, Mapping):
        return "missing trace context"
    if not isinstance(trace.get("trace_id"), str):
        return "trace context without a valid trace_id"
    if not isinstance(trace.get("span_id"), str):
        return "trace context without a valid span_id"
    spans = event.get("spans")
    for index, span in enumerate(spans if isinstance(spans, list) else ()):
        problem = _span_problem(span)
        if problem is not None:
            return f"span {index}: {problem}"
    return None


def _span_problem(span: object) -> str | None:
    if not isinstance(span, Mapping):
        return "not an object"
    for key in ("trace_id", "span_id"):
        if not isinstance(span.get(key), str):
            return f"missing {key}"
    start, end = span.get("start_timestamp"), span.get("timestamp")
    if not isinstance(start, float):
        return "missing start_timestamp"
    if not isinstance(end, float):
        return "missing timestamp"
    if start > end:
        return "start_timestamp is after timestamp"
    return None

"""Event normalisation: one untrusted payload in, Sentry's stored event shape out.

A pure function of ``(payload, context)`` following the protocol brief §5.5 (steps 2-9; decoding
is the caller's step 1, scrubbing is ``scrub.py``'s step 10). It never raises on any JSON
object: fields are coerced or dropped, problems land in ``errors`` and cuts in ``_meta``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vedette.domain.envelope import normalize_event_id
from vedette.processing.coerce import field_int, field_str, lenient_str, mapping, put, valid_ip
from vedette.processing.interfaces.breadcrumbs import normalize_breadcrumbs
from vedette.processing.interfaces.contexts import add_user_agent_contexts, normalize_contexts
from vedette.processing.interfaces.exception import normalize_exceptions
from vedette.processing.interfaces.level import normalize_level
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
from vedette.processing.timestamps import format_timestamp, parse_timestamp
from vedette.processing.trim import (
    CONTEXT_BAG,
    CULPRIT_CHARS,
    DIST_CHARS,
    ENVIRONMENT_CHARS,
    EXTRA_BAG,
    EXTRA_VALUE_BAG,
    LOGGER_CHARS,
    MEDIUM_BAG,
    MESSAGE_CHARS,
    OPAQUE_BAG,
    PATH_CHARS,
    SHORT_CHARS,
    SMALL_BAG,
    SYMBOL_CHARS,
    TAG_CHARS,
    Notes,
    clean_str,
    merge_meta,
    trim_bag,
    trim_str,
)

__all__ = [
    "NormalizeContext",
    "normalize_event",
    "parse_timestamp",
    "render_logentry",
    "validate_transaction",
]

# §5.5 step 3: Relay's MINIMUM_CLOCK_DRIFT and relay-config max_secs_in_future / _in_past.
MIN_CLOCK_DRIFT = 55 * 60.0
MAX_SECS_IN_FUTURE = 60.0
MAX_SECS_IN_PAST = 30 * 24 * 3600.0

# User tags kept per event. Sentry has no documented count limit (the 1 MiB event cap bounds it);
# Vedette indexes tags per event, so a 10,000-tag payload must not become 10,000 index rows.
MAX_TAGS = 1000
RESERVED_TAG_KEYS = frozenset({"release", "dist", "user", "filename", "function"})

# Relay's VALID_PLATFORMS (relay-event-schema constants.rs); anything else becomes "other".
VALID_PLATFORMS = frozenset(
    {"as3", "c", "cfml", "cocoa", "csharp", "elixir", "go", "groovy", "haskell", "java",
     "javascript", "native", "node", "objc", "other", "perl", "php", "python", "ruby"}
)  # fmt: skip
# Platforms for which Relay fills a missing user IP from the connecting address.
_INFER_IP_PLATFORMS = frozenset({"javascript", "cocoa", "objc"})

# Sentry's release naming rules: no newlines, tabs, slashes; not ".", "..", " " or "latest".
_BAD_RELEASE_CHARS = re.compile(r"[\r\n\t\f\v/\\]")
_BAD_RELEASES = frozenset({".", "..", " ", "latest"})
_BAD_ENVIRONMENT = re.compile(r"[\r\n\f/ ]")
_DIST = re.compile(r"[A-Za-z0-9_.\-]+")

# §5.1 legacy interface names, oldest SDKs and stored samples use them.
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
_PRINTF = re.compile(
    r"%(?:\((?P<name>[^)]{0,64})\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"
    r"(?P<conv>[diouxXeEfFgGcrsa%])"
)
_BRACE = re.compile(r"\{(?P<field>[^{}]{0,64})\}")


@dataclass(frozen=True, slots=True)
class NormalizeContext:
    received: float  # server receive time, unix seconds
    event_id: str | None = None  # from the envelope header; wins over the payload's
    sent_at: float | None = None  # envelope header sent_at parsed to unix seconds (clock drift)
    client_ip: str | None = None  # connecting IP, replaces "{{auto}}"
    platform_hint: str | None = None


def normalize_event(payload: Mapping[str, object], ctx: NormalizeContext) -> dict[str, Any]:
    """Sentry's stored event shape from one decoded event/transaction payload."""
    notes = Notes()
    raw = _resolve_aliases(payload, notes)
    event: dict[str, Any] = {"event_id": _event_id(raw, ctx, notes)}
    is_transaction = raw.get("type") == "transaction"
    _normalize_scalars(raw, event, ctx, notes, transaction=is_transaction)
    _normalize_interfaces(raw, event, ctx, notes, transaction=is_transaction)
    event["type"] = _event_type(event, transaction=is_transaction)
    _normalize_times(raw, event, ctx, notes)
    event["tags"] = _tags(raw.get("tags"), event, notes)
    _finish_meta(raw, event, notes)
    return event


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


# -- scalar attributes (§5.1) ----------------------------------------------------------------


def _normalize_scalars(
    raw: Mapping[str, object],
    event: dict[str, Any],
    ctx: NormalizeContext,
    notes: Notes,
    *,
    transaction: bool,
) -> None:
    event["platform"] = _platform(raw.get("platform"), ctx.platform_hint)
    level = normalize_level(raw.get("level"), ("level",), notes)
    event["level"] = level or ("info" if transaction else "error")
    put(event, "logger", _logger(raw.get("logger"), notes))
    put(
        event,
        "transaction",
        field_str(raw.get("transaction"), CULPRIT_CHARS, ("transaction",), notes),
    )
    put(
        event, "server_name", field_str(raw.get("server_name"), PATH_CHARS, ("server_name",), notes)
    )
    put(event, "release", _release(raw.get("release"), notes))
    put(event, "dist", _dist(raw.get("dist"), notes))
    put(event, "environment", _environment(raw.get("environment"), notes))
    put(event, "culprit", field_str(raw.get("culprit"), CULPRIT_CHARS, ("culprit",), notes))
    put(event, "site", field_str(raw.get("site"), TAG_CHARS, ("site",), notes))
    put(event, "checksum", field_str(raw.get("checksum"), SHORT_CHARS, ("checksum",), notes))
    put(event, "version", field_str(raw.get("version"), SHORT_CHARS, ("version",), notes))
    time_spent = field_int(raw.get("time_spent"), ("time_spent",), notes)
    if time_spent is not None and time_spent >= 0:
        event["time_spent"] = time_spent
    put(event, "fingerprint", _fingerprint(raw.get("fingerprint"), notes))
    put(event, "modules", _modules(raw.get("modules"), notes))


def _platform(value: object, hint: str | None) -> str:
    for candidate in (value, hint):
        if isinstance(candidate, str) and candidate.strip().lower() in VALID_PLATFORMS:
            return candidate.strip().lower()
    return "other"


def _logger(value: object, notes: Notes) -> str | None:
    """≤64 characters without line breaks; a long dotted name keeps its tail (Relay)."""
    text = lenient_str(value)
    if text is None or not text.strip():
        return None
    text = text.strip()
    if "\n" in text or "\r" in text:
        notes.error("invalid_data", "logger", text, reason="line break in logger")
        return None
    if len(text) > LOGGER_CHARS:
        notes.annotate(("logger",), len=len(text), rem=[["!limit", "s"]])
        text = "*" + text[-(LOGGER_CHARS - 1) :]
    return text


def _release(value: object, notes: Notes) -> str | None:
    """Trimmed release name; an invalid one is dropped with an error, never the event (§5.1)."""
    text = lenient_str(value)
    if text is None:
        if value is not None:
            notes.error("invalid_data", "release", value, reason="release is not a string")
        return None
    name = text.strip()
    if not name:
        if text:  # " " is explicitly forbidden; "" is simply absent
            notes.error("invalid_data", "release", text, reason="invalid release name")
        return None
    if name in _BAD_RELEASES or len(name) > TAG_CHARS or _BAD_RELEASE_CHARS.search(name):
        notes.error("invalid_data", "release", name, reason="invalid release name")
        notes.annotate(("release",), err=[["invalid_data", {"reason": "invalid release name"}]])
        return None
    return name


def _dist(value: object, notes: Notes) -> str | None:
    text = lenient_str(value)
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > DIST_CHARS or not _DIST.fullmatch(text):
        notes.error("invalid_data", "dist", text, reason="invalid dist")
        return None
    return text


def _environment(value: object, notes: Notes) -> str | None:
    text = lenient_str(value)
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > ENVIRONMENT_CHARS or _BAD_ENVIRONMENT.search(text) or text == "None":
        notes.error("invalid_data", "environment", text, reason="invalid environment name")
        return None
    return text


def _fingerprint(value: object, notes: Notes) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        notes.error("invalid_data", "fingerprint", value, reason="fingerprint is not a list")
        return None
    parts: list[str] = []
    for index, item in enumerate(value[:64]):
        text = lenient_str(item)
        if text is None:
            notes.error("invalid_data", f"fingerprint.{index}", item, reason="not a string")
            return None
        parts.append(trim_str(text, SYMBOL_CHARS, ("fingerprint", index), notes))
    return parts or None


def _modules(value: object, notes: Notes) -> dict[str, str] | None:
    raw = mapping(value)
    if raw is None:
        return None
    modules: dict[str, str] = {}
    for key, item in raw.items():
        version = lenient_str(item)
        if version is not None and len(modules) < 2000:
            modules[clean_str(str(key))[:SYMBOL_CHARS]] = version[:SHORT_CHARS]
    return modules


# -- interfaces ------------------------------------------------------------------------------


def _normalize_interfaces(
    raw: Mapping[str, object],
    event: dict[str, Any],
    ctx: NormalizeContext,
    notes: Notes,
    *,
    transaction: bool,
) -> None:
    put(event, "logentry", _logentry(raw, notes))
    exceptions = normalize_exceptions(raw.get("exception"), ("exception",), notes)
    stacktrace = normalize_stacktrace(raw.get("stacktrace"), ("stacktrace",), notes)
    if stacktrace is not None and len(exceptions) == 1 and "stacktrace" not in exceptions[0]:
        exceptions[0]["stacktrace"] = stacktrace  # §5.5 step 7: Relay moves a lone stacktrace in
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
        if isinstance(raw.get(key), Mapping | list):
            event[key] = trim_bag(raw.get(key), (key,), notes, limit)
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
    """``extra``: each value ≤16 KiB, the whole bag ≤256 KiB (§5.1)."""
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


# -- logentry (§5.2, §5.5 step 6) -----------------------------------------------------------


def _logentry(raw: Mapping[str, object], notes: Notes) -> Json | None:
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


# -- step 3: timestamps and clock drift -----------------------------------------------------


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


# -- step 5: tags ------------------------------------------------------------------------------


def _tag_text(value: object) -> str | None:
    text = lenient_str(value)
    return None if text is None else text.strip()


def _tag_entries(value: object, notes: Notes) -> list[tuple[int, object, object]]:
    if isinstance(value, Mapping):
        return [(index, key, item) for index, (key, item) in enumerate(value.items())]
    if isinstance(value, list | tuple):
        entries: list[tuple[int, object, object]] = []
        for index, item in enumerate(value):
            if isinstance(item, list | tuple) and len(item) == 2:
                entries.append((index, item[0], item[1]))
            elif item is not None:
                notes.error("invalid_data", f"tags.{index}", item, reason="not a [key, value] pair")
        return entries
    if value is not None:
        notes.error("invalid_data", "tags", value, reason="tags must be an object or pairs")
    return []


def _tags(value: object, event: dict[str, Any], notes: Notes) -> list[list[str]]:
    """User tags as ``[[key, value], ...]`` (Sentry's stored shape), then the derived tags."""
    tags: list[list[str]] = []
    seen: set[str] = set()
    environment_tag: str | None = None
    entries = _tag_entries(value, notes)
    for index, key_obj, value_obj in entries:
        key, text = _tag_text(key_obj), _tag_text(value_obj)
        if key is None or text is None:
            if value_obj is not None and key_obj is not None:
                notes.error("invalid_data", f"tags.{index}", value_obj, reason="not a string")
            continue
        if not key or not text:
            continue
        if len(key) > TAG_CHARS or len(text) > TAG_CHARS:
            notes.annotate(
                ("tags", index), len=max(len(key), len(text)), err=[["value_too_long", {}]]
            )
            notes.error("value_too_long", f"tags.{index}", key)
            continue
        if "\n" in key or "\n" in text or "\r" in key or "\r" in text:
            notes.error("invalid_data", f"tags.{index}", key, reason="line break in tag")
            continue
        if key == "environment":
            environment_tag = environment_tag or text
            continue
        if key in RESERVED_TAG_KEYS or key in seen:
            continue
        if len(tags) >= MAX_TAGS:
            notes.annotate(("tags",), len=len(entries))
            break
        seen.add(key)
        tags.append([key, text])
    if "environment" not in event and environment_tag is not None:
        put(event, "environment", _environment(environment_tag, notes))
    for key, text in derived_tags(event):
        if key not in seen:
            seen.add(key)
            tags.append([key, text])
    return tags


def derived_tags(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The tags Sentry shows on every event, computed from normalised fields (§5.5 step 5)."""
    found: list[tuple[str, str | None]] = [
        ("level", event.get("level")),
        ("logger", event.get("logger")),
        ("environment", event.get("environment")),
        ("release", event.get("release")),
        ("dist", event.get("dist")),
        ("transaction", event.get("transaction")),
        ("user", _user_tag(event.get("user"))),
        ("url", _url_tag(event.get("request"))),
        *_mechanism_tags(event.get("exception")),
        *_context_tags(event.get("contexts")),
        ("server_name", event.get("server_name")),
        ("site", event.get("site")),
    ]
    return [(key, text[:TAG_CHARS]) for key, text in found if isinstance(text, str) and text]


def _user_tag(user: object) -> str | None:
    if not isinstance(user, dict):
        return None
    for key, label in (
        ("id", "id"),
        ("email", "email"),
        ("username", "username"),
        ("ip_address", "ip"),
    ):
        if isinstance(user.get(key), str):
            return f"{label}:{user[key]}"
    return None


def _url_tag(request: object) -> str | None:
    url = request.get("url") if isinstance(request, dict) else None
    return url if isinstance(url, str) else None


def _mechanism_tags(exception: object) -> list[tuple[str, str | None]]:
    values = exception.get("values") if isinstance(exception, dict) else None
    if not isinstance(values, list) or not values:
        return []
    mechanism = values[-1].get("mechanism")
    if not isinstance(mechanism, dict):
        return []
    handled = mechanism.get("handled")
    handled_tag = None if not isinstance(handled, bool) else ("yes" if handled else "no")
    return [("handled", handled_tag), ("mechanism", mechanism.get("type"))]


def _context_tags(contexts: object) -> list[tuple[str, str | None]]:
    if not isinstance(contexts, dict):
        return []
    by_type: dict[str, dict[str, Any]] = {}
    for alias, context in contexts.items():
        kind = context.get("type")
        if alias == "client_os" or not isinstance(kind, str):
            continue  # the browser user's system is not the server's ``os``
        # the context under its own type name wins over a renamed alias ("server-os")
        if kind not in by_type or alias == kind:
            by_type[kind] = context
    found: list[tuple[str, str | None]] = []
    for key, context in (
        ("runtime", by_type.get("runtime")),
        ("os", by_type.get("os")),
        ("browser", by_type.get("browser")),
        ("client_os", contexts.get("client_os")),
    ):
        found.extend(_name_version_tags(key, context))
    device = by_type.get("device")
    model = device.get("model") if isinstance(device, dict) else None
    found.append(("device", model if isinstance(model, str) else None))
    return found


def _name_version_tags(key: str, context: object) -> list[tuple[str, str | None]]:
    """``runtime: CPython 3.11.7`` and ``runtime.name: CPython`` from one context."""
    if not isinstance(context, dict):
        return []
    name = context.get("name")
    if not isinstance(name, str) or not name.strip():
        return []
    version = context.get("version")
    full = f"{name} {version}" if isinstance(version, str) and version.strip() else name
    return [(key, " ".join(full.split())), (f"{key}.name", name.strip())]


# -- _meta and errors --------------------------------------------------------------------------


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


def validate_transaction(event: Mapping[str, Any]) -> str | None:
    """Why Relay would reject this normalised transaction (§6.1), or None when it is valid."""
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

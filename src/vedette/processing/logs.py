"""Structured logs: a ``log`` item's container of records into what storage keeps.

See docs/logs.md. A record without a body is counted invalid; everything else is kept with
what could be read of it (a bad attribute is dropped, a bad timestamp becomes the receive time).
The project's data scrubbing applies as to events: an attribute whose key is sensitive is
filtered, the value rules filter secrets in string attributes and label them in the body.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vedette.domain.envelope import normalize_event_id
from vedette.domain.processed import LogRecord
from vedette.processing.coerce import int64
from vedette.processing.scrub import ScrubConfig
from vedette.processing.value_rules import (
    apply_value_rules,
    is_card_number_value,
    is_sensitive_key,
)

MAX_RECORDS = 1000
MAX_ATTRIBUTES = 200
MAX_KEY_CHARS = 200
MAX_STRING_CHARS = 8192
MAX_BODY_CHARS = 8192

LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")
LEVEL_ALIASES = {"warning": "warn", "critical": "fatal", "err": "error", "information": "info"}
# The OpenTelemetry severity number of each level (the lowest of its range of four).
SEVERITY_NUMBERS = {"trace": 1, "debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}

TEMPLATE = "sentry.message.template"
PARAMETER_PREFIX = "sentry.message.parameter."

_SCALAR_TYPES = {"string": str, "integer": int, "double": float, "boolean": bool}
FILTERED = "[Filtered]"
# value_rules' rule sets: filter (0) or replace by a label (2), each with the IP rules (+1).
FILTER_RULES, REPLACE_RULES = 0, 2  # value_rules' sets: the whole value, or the secret only


@dataclass(slots=True)
class LogBatch:
    records: list[LogRecord] = field(default_factory=list)
    invalid: int = 0


def normalize_level(value: object) -> str | None:
    """One of LEVELS, from a level name (case and Sentry's aliases tolerated)."""
    if not isinstance(value, str):
        return None
    lowered = value.strip().lower()
    lowered = LEVEL_ALIASES.get(lowered, lowered)
    return lowered if lowered in LEVELS else None


def level_of_severity(number: int) -> str:
    """The level of an OpenTelemetry severity number (1-24, four numbers per level)."""
    return LEVELS[(min(max(number, 1), 24) - 1) // 4]


def typed_value(raw: object) -> dict[str, Any] | None:
    """``{"type": ..., "value": ...}`` with the type checked against the value, or None.

    A bare scalar is accepted and typed from its Python type."""
    if isinstance(raw, Mapping):
        kind, value = raw.get("type"), raw.get("value")
    else:
        kind, value = _type_name(raw), raw
    if kind == "double" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    expected = _SCALAR_TYPES.get(kind) if isinstance(kind, str) else None
    if expected is None or type(value) is not expected:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        value = value[:MAX_STRING_CHARS]
    return {"type": kind, "value": value}


def _type_name(value: object) -> str | None:
    for name, python_type in _SCALAR_TYPES.items():
        if type(value) is python_type:
            return name
    return None


def typed_attributes(raw: object) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, Mapping):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if len(found) >= MAX_ATTRIBUTES:
            break
        typed = typed_value(value)
        if isinstance(key, str) and key and typed is not None:
            found[key[:MAX_KEY_CHARS]] = typed
    return found


@functools.lru_cache(maxsize=4096)
def _key_is_sensitive(key: str, config: ScrubConfig) -> bool:
    """Remembered per key and settings: the records of a container repeat the same keys."""
    lowered = key.lower()
    if lowered in (k.lower() for k in config.safe_keys):
        return False
    if any(k and k.lower() in lowered for k in config.extra_sensitive_keys):
        return True
    return config.defaults and is_sensitive_key(lowered)


def scrub_text(text: str, rule_set: int, config: ScrubConfig) -> str:
    """The built-in value rules (dataScrubberDefaults), with the IP rule when asked."""
    if not config.defaults:
        return text
    return apply_value_rules(text, rule_set + (1 if config.scrub_ip_addresses else 0))[0]


def scrub_attributes(
    attributes: dict[str, dict[str, Any]], config: ScrubConfig
) -> dict[str, dict[str, Any]]:
    """Sensitive keys filtered, secrets in string values filtered (sentry.* keys as well: a
    message parameter is named after the argument it holds)."""
    if not config.enabled:
        return attributes
    scrubbed: dict[str, dict[str, Any]] = {}
    for key, typed in attributes.items():
        if _key_is_sensitive(key.removeprefix(PARAMETER_PREFIX), config):
            scrubbed[key] = {"type": "string", "value": FILTERED}
        elif typed["type"] == "string":
            # The template is text around placeholders, as a body is: secrets in it are
            # replaced, the rest kept (logs are grouped by it).
            rules = REPLACE_RULES if key == TEMPLATE else FILTER_RULES
            scrubbed[key] = {**typed, "value": scrub_text(typed["value"], rules, config)}
        elif typed["type"] in ("integer", "double") and _card_number(typed["value"], config):
            scrubbed[key] = {"type": "string", "value": FILTERED}
        else:
            scrubbed[key] = typed
    return scrubbed


def _card_number(value: object, config: ScrubConfig) -> bool:
    """A number that is a card number (integers and doubles can be one too)."""
    return (
        config.defaults
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and is_card_number_value(value)
    )


def without_filtered_parameters(
    body: str, raw: dict[str, dict[str, Any]], scrubbed: Mapping[str, dict[str, Any]]
) -> str:
    """The body with the value of each parameter filtered by its name taken out: the SDK
    formatted the body from the template and the parameters before anything was scrubbed."""
    for key, typed in raw.items():
        if not key.startswith(PARAMETER_PREFIX) or scrubbed[key]["value"] != FILTERED:
            continue
        value = typed["value"]
        text = value if isinstance(value, str) else str(value)
        if len(text) >= 3 and not isinstance(value, bool):  # "1" or "on" is everywhere
            body = body.replace(text, FILTERED)
    return body


def _string_attribute(attributes: Mapping[str, dict[str, Any]], key: str, cap: int) -> str | None:
    found = attributes.get(key)
    if found is None or found["type"] != "string" or not found["value"].strip():
        return None
    return str(found["value"]).strip()[:cap]


def _span_id(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    candidate = value.strip().lower()
    if len(candidate) != 16:
        return None
    try:
        int(candidate, 16)
    except ValueError:
        return None
    return candidate


def _timestamp(value: object, received: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value) if value > 0 else received
    return received


def _severity(raw: Mapping[str, Any], attributes: Mapping[str, dict[str, Any]]) -> int | None:
    for candidate in (raw.get("severity_number"), attributes.get("sentry.severity_number")):
        if isinstance(candidate, Mapping):
            candidate = candidate.get("value")
        if isinstance(candidate, int) and not isinstance(candidate, bool) and 1 <= candidate <= 24:
            return candidate
    return None


def parse_record(
    raw: Mapping[str, Any], received: float, key: str, scrub: ScrubConfig | None = None
) -> LogRecord | None:
    """One log record, or None when it has no body. ``key`` makes its id: the same record
    of the same spooled envelope always gets the same id."""
    body = raw.get("body")
    if not isinstance(body, str):
        return None
    config = ScrubConfig() if scrub is None else scrub
    sent = typed_attributes(raw.get("attributes"))
    attributes = scrub_attributes(sent, config)
    if config.enabled:
        body = without_filtered_parameters(body, sent, attributes)
        body = scrub_text(body, REPLACE_RULES, config)
    severity = _severity(raw, attributes)
    level = normalize_level(raw.get("level")) or (
        level_of_severity(severity) if severity is not None else "info"
    )
    timestamp = _timestamp(raw.get("timestamp"), received)
    digest = hashlib.md5(f"{key}:{timestamp!r}:{body}".encode(), usedforsecurity=False)
    sdk = " ".join(
        part
        for part in (
            _string_attribute(attributes, "sentry.sdk.name", 64),
            _string_attribute(attributes, "sentry.sdk.version", 32),
        )
        if part
    )
    return LogRecord(
        log_id=digest.hexdigest(),
        timestamp=timestamp,
        level=level,
        severity_number=severity or SEVERITY_NUMBERS[level],
        body=body[:MAX_BODY_CHARS],
        template=_string_attribute(attributes, TEMPLATE, MAX_BODY_CHARS),
        parameters={
            name.removeprefix(PARAMETER_PREFIX): typed["value"]
            for name, typed in attributes.items()
            if name.startswith(PARAMETER_PREFIX)
        },
        attributes=attributes,
        trace_id=normalize_event_id(raw.get("trace_id")),
        span_id=_span_id(raw.get("span_id")),
        release=_string_attribute(attributes, "sentry.release", 200),
        environment=_string_attribute(attributes, "sentry.environment", 64),
        sdk=sdk or None,
    )


# An ``otel_log`` item (JavaScript SDKs 9.8 to 9.16): one OpenTelemetry log record in OTLP's JSON
# shape; its typed values are named by these fields.
_OTEL_VALUE_TYPES = {
    "stringValue": "string",
    "intValue": "integer",
    "doubleValue": "double",
    "boolValue": "boolean",
}


def _otel_attributes(raw: object) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in raw[:MAX_ATTRIBUTES] if isinstance(raw, list) else []:
        key = entry.get("key") if isinstance(entry, Mapping) else None
        value = entry.get("value") if isinstance(entry, Mapping) else None
        if not isinstance(key, str) or not isinstance(value, Mapping):
            continue
        for field_name, kind in _OTEL_VALUE_TYPES.items():
            if field_name in value:
                typed = value[field_name]
                if kind == "integer":
                    typed = int64(typed)  # OTLP's JSON sends 64-bit integers as strings
                    if typed is None:
                        break  # not an OTLP integer: the attribute is left out
                found[key] = {"type": kind, "value": typed}
                break
    return found


def otel_record(
    raw: Mapping[str, Any], received: float, key: str, scrub: ScrubConfig | None = None
) -> LogRecord | None:
    """An ``otel_log`` item's record, read as a Sentry log record."""
    body = raw.get("body")
    nanos = int64(raw.get("timeUnixNano"))
    timestamp = nanos / 1e9 if nanos is not None and nanos >= 0 else None
    return parse_record(
        {
            "body": body.get("stringValue") if isinstance(body, Mapping) else body,
            "level": raw.get("severityText"),
            "severity_number": raw.get("severityNumber"),
            "attributes": _otel_attributes(raw.get("attributes")),
            "trace_id": raw.get("traceId"),
            "span_id": raw.get("spanId"),
            "timestamp": timestamp,
        },
        received,
        key,
        scrub,
    )


def container_logs(
    payload: Mapping[str, Any], received: float, item_key: str, scrub: ScrubConfig | None = None
) -> LogBatch:
    """The records of a ``log`` container (``{"items": [...]}``); a payload without ``items``
    is read as one record."""
    entries = payload.get("items")
    raw_records = entries if isinstance(entries, list) else [payload]
    batch = LogBatch()
    for index, raw in enumerate(raw_records[:MAX_RECORDS]):
        record = (
            parse_record(raw, received, f"{item_key}:{index}", scrub)
            if isinstance(raw, Mapping)
            else None
        )
        if record is None:
            batch.invalid += 1
        else:
            batch.records.append(record)
    batch.invalid += max(len(raw_records) - MAX_RECORDS, 0)
    return batch

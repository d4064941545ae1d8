"""OTLP/HTTP request bodies (protobuf or OTLP's JSON mapping) into the OpenTelemetry project's
own message classes, and the typed values inside them into our attribute shape.

See docs/protocol.md, "OTLP". Ingest spools the body as it arrived (decompressed and capped);
the worker decodes it here. OTLP's JSON differs from protobuf's canonical JSON mapping in one
way that matters: trace and span ids are hex, not base64, so they are rewritten before
``json_format`` reads the document.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from vedette.domain.envelope import Item
from vedette.domain.otlp_wire import MAX_OTLP_RECORDS

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

MAX_ATTRIBUTES = 200
MAX_STRING_CHARS = 8192
_MAX_NESTING = 8

# Where OTLP's JSON puts hex ids: the list path down to the records, then the id fields of a
# record and of its links (camelCase as OTLP writes them; protobuf's names are accepted too).
_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")
_RECORD_PATHS = {
    "traces": (("resourceSpans", "resource_spans"), ("scopeSpans", "scope_spans"), ("spans",)),
    "logs": (("resourceLogs", "resource_logs"), ("scopeLogs", "scope_logs"),
             ("logRecords", "log_records")),
}  # fmt: skip

M = TypeVar("M", bound=Message)


class UndecodableOtlp(Exception):
    """The body is not a request of its signal in its content type; the message is the
    ``invalid`` outcome's reason."""


def read_item(
    item: Item, signal: str, message: M, container: Callable[[M], dict[str, Any]]
) -> dict[str, Any] | str:
    """An ``otlp_*`` item's payload (in the content type its header names) as the container
    ``container`` makes of the decoded request, or why it cannot be read."""
    try:
        request = decode_request(
            item.payload, str(item.headers.get("content_type")), signal, message
        )
    except UndecodableOtlp as problem:
        return str(problem)
    return container(request)


def decode_request(payload: bytes, content_type: str, signal: str, message: M) -> M:
    """``message`` (an empty Export*ServiceRequest) filled from ``payload``."""
    if content_type == PROTOBUF:
        try:
            message.ParseFromString(payload)
        except (DecodeError, RecursionError) as exc:
            raise UndecodableOtlp("invalid_otlp_protobuf") from exc
        return message
    if content_type != JSON:
        raise UndecodableOtlp("unsupported_otlp_content_type")
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise UndecodableOtlp("invalid_otlp_json") from exc
    if not isinstance(document, dict):
        raise UndecodableOtlp("invalid_otlp_json")
    records = _records(document, _RECORD_PATHS[signal])
    if len(records) > MAX_OTLP_RECORDS:  # before protobuf builds them all (ingest counts too)
        raise UndecodableOtlp("too_many_otlp_records")
    for record in records:
        _rewrite_hex_ids(record)
        links = record.get("links")
        for link in links if isinstance(links, list) else ():
            if isinstance(link, dict):
                _rewrite_hex_ids(link)
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise UndecodableOtlp("invalid_otlp_json") from exc
    return message


def _records(document: dict[str, Any], path: tuple[tuple[str, ...], ...]) -> list[dict[str, Any]]:
    level: list[dict[str, Any]] = [document]
    for names in path:
        found: list[dict[str, Any]] = []
        for node in level:
            children = next((node[n] for n in names if n in node), None)
            if isinstance(children, list):
                found.extend(c for c in children if isinstance(c, dict))
        level = found
    return level


def _rewrite_hex_ids(record: dict[str, Any]) -> None:
    """Hex ids -> the base64 ``json_format`` expects for bytes; a malformed id becomes empty
    (the record is then missing its id, which the mapping counts as invalid)."""
    for name in _ID_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            record[name] = hex_to_base64(value)


def hex_to_base64(value: str) -> str:
    try:
        raw = bytes.fromhex(value) if len(value) % 2 == 0 else b""
    except ValueError:
        raw = b""
    return base64.b64encode(raw).decode()


def id_hex(raw: bytes, length: int) -> str | None:
    """A trace (16 bytes) or span (8 bytes) id as hex; None when absent, short or all zero."""
    if len(raw) != length or not any(raw):
        return None
    return raw.hex()


def seconds(nanos: int) -> float | None:
    return nanos / 1e9 if nanos > 0 else None


def typed_value(value: AnyValue, depth: int = 0) -> dict[str, Any] | None:
    """``{"type": ..., "value": ...}`` of an OTLP value; arrays, maps and bytes become strings
    (JSON, base64), as our attributes hold scalars only. None for an empty value."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return {"type": "string", "value": value.string_value[:MAX_STRING_CHARS]}
    if kind == "bool_value":
        return {"type": "boolean", "value": value.bool_value}
    if kind == "int_value":
        return {"type": "integer", "value": value.int_value}
    if kind == "double_value":
        number = value.double_value
        return {"type": "double", "value": number} if math.isfinite(number) else None
    if kind is None:
        return None
    text = (
        base64.b64encode(value.bytes_value).decode()
        if kind == "bytes_value"
        else orjson.dumps(plain_value(value, depth)).decode()
    )
    return {"type": "string", "value": text[:MAX_STRING_CHARS]}


def plain_value(value: AnyValue, depth: int = 0) -> Any:
    """An OTLP value as plain JSON-able Python (nesting cut at a fixed depth)."""
    kind = value.WhichOneof("value")
    if depth >= _MAX_NESTING:
        return None
    if kind == "array_value":
        return [plain_value(v, depth + 1) for v in value.array_value.values[:MAX_ATTRIBUTES]]
    if kind == "kvlist_value":
        return {
            kv.key: plain_value(kv.value, depth + 1)
            for kv in value.kvlist_value.values[:MAX_ATTRIBUTES]
        }
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind == "double_value" and not math.isfinite(value.double_value):
        return None
    return getattr(value, kind) if kind is not None else None


def text_of(value: AnyValue) -> str:
    """A log body: a string as it is, anything else as JSON; empty when unset."""
    if value.WhichOneof("value") == "string_value":
        return value.string_value
    plain = plain_value(value)
    return "" if plain is None else orjson.dumps(plain).decode()


def typed_attributes(pairs: Iterable[KeyValue]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        if len(found) >= MAX_ATTRIBUTES:
            break
        typed = typed_value(pair.value)
        if pair.key and typed is not None:
            found[pair.key[:200]] = typed
    return found


def string_attribute(attributes: Mapping[str, dict[str, Any]], *keys: str) -> str | None:
    """The first of ``keys`` holding a non-empty string."""
    for key in keys:
        found = attributes.get(key)
        if found is not None and found["type"] == "string" and found["value"].strip():
            return str(found["value"]).strip()
    return None


# Resource attributes -> what we call them (docs/protocol.md, "OTLP").
_RESOURCE_RENAMES = {
    "service.version": "sentry.release",
    "deployment.environment.name": "sentry.environment",
    "deployment.environment": "sentry.environment",
    "telemetry.sdk.name": "sentry.sdk.name",
    "telemetry.sdk.version": "sentry.sdk.version",
}
_RESOURCE_KEPT = ("service.name", "service.namespace", "service.instance.id")


def resource_attributes(pairs: Iterable[KeyValue]) -> dict[str, dict[str, Any]]:
    """What every record of a resource carries: its service name, and its release,
    environment and SDK under the names our spans and logs read them from."""
    resource = typed_attributes(pairs)
    found = {key: resource[key] for key in _RESOURCE_KEPT if key in resource}
    for source, target in _RESOURCE_RENAMES.items():
        if source in resource and target not in found:
            found[target] = resource[source]
    return found

"""OTLP traces -> a span v2 container (what @sentry/node sends), which ``spans.container_rows``
turns into span rows and segment facts like any other.

See docs/protocol.md, "OTLP". A span without a parent, or whose parent is remote (another
service's), is a segment: it plays the transaction, named after the span. The others name the
segment of the nearest ancestor in the same request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from vedette.domain.envelope import Item
from vedette.processing.otlp_decode import (
    id_hex,
    read_item,
    resource_attributes,
    seconds,
    string_attribute,
    typed_attributes,
)
from vedette.processing.spans import MAX_CONTAINER_SPANS

# Span.flags: the parent's "is remote" bit is meaningful only when its "has" bit is set.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200

KIND_NAMES = {
    Span.SPAN_KIND_INTERNAL: "internal",
    Span.SPAN_KIND_SERVER: "server",
    Span.SPAN_KIND_CLIENT: "client",
    Span.SPAN_KIND_PRODUCER: "producer",
    Span.SPAN_KIND_CONSUMER: "consumer",
}
# (attribute present, span kind) -> our op; the first row whose attribute the span has wins,
# a kind of None matches any kind.
_OP_RULES: tuple[tuple[str, str | None, str], ...] = (
    ("db.system.name", None, "db"),
    ("db.system", None, "db"),
    ("http.request.method", "server", "http.server"),
    ("http.method", "server", "http.server"),
    ("http.request.method", "client", "http.client"),
    ("http.method", "client", "http.client"),
    ("messaging.system", "producer", "queue.publish"),
    ("messaging.system", "consumer", "queue.process"),
    ("rpc.system", "server", "rpc.server"),
    ("rpc.system", "client", "rpc.client"),
)


def span_op(attributes: Mapping[str, dict[str, Any]], kind: str) -> str | None:
    """Our op of a span from its semantic-convention attributes (``sentry.op`` wins)."""
    explicit = string_attribute(attributes, "sentry.op")
    if explicit:
        return explicit
    for key, rule_kind, op in _OP_RULES:
        if key in attributes and rule_kind in (None, kind):
            return op
    return None


def span_description(name: str, op: str | None, attributes: Mapping[str, dict[str, Any]]) -> str:
    """What our span ops expect as description: ``METHOD url`` for an HTTP client span,
    ``METHOD route`` for a server span named by its method alone, else the span's name (a
    database span's statement is read by ``container_rows`` itself)."""
    method = string_attribute(attributes, "http.request.method", "http.method")
    if method is None:
        return name
    if op == "http.client":
        url = string_attribute(attributes, "url.full", "http.url")
        return f"{method} {url}" if url else name
    if op == "http.server" and name.strip() in ("", method):
        target = string_attribute(attributes, "http.route", "url.path", "http.target")
        return f"{method} {target}" if target else name
    return name


def status_name(status: Status) -> str:
    """``error`` (refined by the HTTP status code downstream) or ``ok`` (unset counts as ok)."""
    return "error" if status.code == Status.STATUS_CODE_ERROR else "ok"


def is_segment(span: Span) -> bool:
    if not any(span.parent_span_id):
        return True
    return bool(span.flags & _HAS_IS_REMOTE and span.flags & _IS_REMOTE)


def segment_ids(spans: list[Span]) -> dict[bytes, bytes]:
    """Span id -> the id of its segment (its nearest segment ancestor) among ``spans``; spans
    whose chain leaves the request (or loops) have none. Linear: each span is walked once."""
    by_id = {s.span_id: s for s in spans}
    found: dict[bytes, bytes | None] = {}
    for span in spans:
        path: dict[bytes, None] = {}  # ordered and fast to test: a loop ends the walk
        current: Span | None = span
        segment: bytes | None = None
        while current is not None and current.span_id not in path:
            if current.span_id in found:
                segment = found[current.span_id]
                break
            path[current.span_id] = None
            if is_segment(current):
                segment = current.span_id
                break
            current = by_id.get(current.parent_span_id)
        for span_id in path:
            found[span_id] = segment
    return {span_id: segment for span_id, segment in found.items() if segment is not None}


def _http_status(attributes: dict[str, dict[str, Any]]) -> None:
    """Older conventions name the response code ``http.status_code``; our status reads the
    current name."""
    if "http.response.status_code" not in attributes and "http.status_code" in attributes:
        attributes["http.response.status_code"] = attributes["http.status_code"]


def span_item(
    span: Span, base: Mapping[str, dict[str, Any]], segment: bytes | None
) -> dict[str, Any]:
    """One span as a span v2 container item."""
    kind = KIND_NAMES.get(span.kind, "internal")
    attributes = {**base, **typed_attributes(span.attributes)}
    _http_status(attributes)
    op = span_op(attributes, kind)
    attributes["otel.kind"] = {"type": "string", "value": kind}
    if op is not None:
        attributes["sentry.op"] = {"type": "string", "value": op}
    if span.status.message:
        attributes["otel.status_description"] = {"type": "string", "value": span.status.message}
    if segment is not None:
        attributes["sentry.segment.id"] = {"type": "string", "value": segment.hex()}
    return {
        "trace_id": id_hex(span.trace_id, 16),
        "span_id": id_hex(span.span_id, 8),
        "parent_span_id": id_hex(span.parent_span_id, 8),
        "name": span_description(span.name, op, attributes),
        "start_timestamp": seconds(span.start_time_unix_nano),
        "end_timestamp": seconds(span.end_time_unix_nano),
        "is_segment": is_segment(span),
        "status": status_name(span.status),
        "attributes": attributes,
    }


def span_container(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """Every span of the request, with its resource's and scope's attributes. Spans past the
    container cap stay as empty items: ``container_rows`` counts them invalid unread."""
    items: list[dict[str, Any]] = []
    every = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    segments = segment_ids(every[:MAX_CONTAINER_SPANS])
    for resource_spans in request.resource_spans:
        resource = resource_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            base = dict(resource)
            if scope_spans.scope.name:
                base["otel.scope.name"] = {"type": "string", "value": scope_spans.scope.name}
            for span in scope_spans.spans:
                if len(items) >= MAX_CONTAINER_SPANS:
                    items.append({})
                else:
                    items.append(span_item(span, base, segments.get(span.span_id)))
    return {"items": items}


def read_traces(item: Item) -> dict[str, Any] | str:
    """An ``otlp_traces`` item's payload as a span container, or why it cannot be read."""
    return read_item(item, "traces", ExportTraceServiceRequest(), span_container)

"""OTLP logs -> a log container (what the Sentry SDKs send), which ``logs.container_logs`` reads
(and scrubs) like any other.

See docs/protocol.md, "OTLP".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from vedette.domain.envelope import Item
from vedette.processing.logs import MAX_RECORDS, level_of_severity
from vedette.processing.otlp_decode import (
    id_hex,
    read_item,
    resource_attributes,
    seconds,
    text_of,
    typed_attributes,
)


def record_level(severity_number: int, severity_text: str) -> str | None:
    """The level: from the severity number (1-24) when set, else from the text (``WARNING``,
    ``Information``, ... as ``logs.normalize_level`` reads it); None leaves it to the default."""
    if 1 <= severity_number <= 24:
        return level_of_severity(severity_number)
    return severity_text or None


def log_item(record: LogRecord, base: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """One OTLP log record as a Sentry log record."""
    attributes = {**base, **typed_attributes(record.attributes)}
    if record.event_name:
        attributes["event.name"] = {"type": "string", "value": record.event_name[:200]}
    severity = record.severity_number
    return {
        "body": text_of(record.body),
        "level": record_level(severity, record.severity_text),
        "severity_number": severity if 1 <= severity <= 24 else None,
        "attributes": attributes,
        "trace_id": id_hex(record.trace_id, 16),
        "span_id": id_hex(record.span_id, 8),
        "timestamp": seconds(record.time_unix_nano or record.observed_time_unix_nano),
    }


def log_container(request: ExportLogsServiceRequest) -> dict[str, Any]:
    """Every record of the request, with its resource's and scope's attributes. Records past
    the container cap stay as empty items: ``container_logs`` counts them invalid unread."""
    items: list[dict[str, Any]] = []
    for resource_logs in request.resource_logs:
        resource = resource_attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            base = dict(resource)
            if scope_logs.scope.name:
                base["otel.scope.name"] = {"type": "string", "value": scope_logs.scope.name}
            for record in scope_logs.log_records:
                items.append(log_item(record, base) if len(items) < MAX_RECORDS else {})
    return {"items": items}


def read_logs(item: Item) -> dict[str, Any] | str:
    """An ``otlp_logs`` item's payload as a log container, or why it cannot be read."""
    return read_item(item, "logs", ExportLogsServiceRequest(), log_container)

"""OTLP/HTTP at Sentry's paths: what ingest checks of a request before spooling it.

See docs/protocol.md, "OTLP". The request path stays thin: the body, decompressed and capped,
is checked as far as a refusal needs (a protobuf body must parse, a JSON body must be a JSON
object), then spooled whole as one item of an internal type in an envelope of its own. The
worker decodes and maps it (``vedette.processing.otlp_spans`` / ``otlp_logs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

import orjson

from vedette.domain.envelope import is_json_object
from vedette.domain.otlp_wire import MAX_OTLP_RECORDS, MalformedProtobuf, count_records
from vedette.ingest.errors import BadRequest, IngestError, PayloadTooLarge

if TYPE_CHECKING:
    from google.protobuf.message import Message

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# Content types as clients write them -> the one the spooled item names.
_MEDIA_TYPES = {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}
# Objects of a JSON request: room for MAX_OTLP_RECORDS records of a hundred attributes each.
MAX_OTLP_JSON_OBJECTS = 2_000_000


class UnsupportedContentType(IngestError):
    status = 415


@dataclass(frozen=True, slots=True)
class Signal:
    """One OTLP signal. Its protobuf messages are imported with its first request: protobuf
    and the generated OTLP modules cost 6 MiB and 50 ms at every start of a server that may
    never receive one."""

    item_type: str
    service_module: str  # the generated module of the signal's collector service
    name: str  # Export{name}ServiceRequest / Export{name}ServiceResponse

    def request(self) -> Message:
        return self._message("Request")

    def response(self) -> Message:
        return self._message("Response")

    def _message(self, direction: str) -> Message:
        message: type[Message] = getattr(
            import_module(self.service_module), f"Export{self.name}Service{direction}"
        )
        return message()


SIGNALS = {
    "traces": Signal(
        "otlp_traces", "opentelemetry.proto.collector.trace.v1.trace_service_pb2", "Trace"
    ),
    "logs": Signal("otlp_logs", "opentelemetry.proto.collector.logs.v1.logs_service_pb2", "Logs"),
}


def media_type(content_type: str | None) -> str:
    """The body's encoding from its ``Content-Type`` (parameters ignored), else 415."""
    bare = (content_type or "").partition(";")[0].strip().lower()
    found = _MEDIA_TYPES.get(bare)
    if found is None:
        raise UnsupportedContentType(
            f"unsupported content type {bare!r}: OTLP/HTTP takes {PROTOBUF} or {JSON}"
        )
    return found


def check_body(signal: Signal, media: str, body: bytes) -> None:
    """400 for a body that is not even the right kind of document, 413 for one of more than
    ``MAX_OTLP_RECORDS`` records (counted before anything is decoded: docs/protocol.md). A
    JSON body is read in full only by the worker, which counts one it cannot read as
    ``invalid``; here its objects are bounded by counting its braces."""
    if media == PROTOBUF:
        from google.protobuf.message import DecodeError

        try:
            records = count_records(body, MAX_OTLP_RECORDS)
        except MalformedProtobuf as exc:
            raise BadRequest(f"invalid OTLP protobuf body: {exc}") from exc
        if records > MAX_OTLP_RECORDS:
            raise PayloadTooLarge(f"more than {MAX_OTLP_RECORDS} records in one request")
        try:
            signal.request().ParseFromString(body)
        except (DecodeError, RecursionError) as exc:
            raise BadRequest(f"invalid OTLP protobuf body: {exc}") from exc
    elif body.count(b"{") > MAX_OTLP_JSON_OBJECTS:
        raise PayloadTooLarge(f"more than {MAX_OTLP_JSON_OBJECTS} objects in one request")
    elif not is_json_object(body):
        raise BadRequest("invalid OTLP JSON body: not a JSON object")


def spooled_envelope(signal: Signal, media: str, body: bytes) -> bytes:
    """The envelope the spool keeps: one item carrying the body and its content type."""
    header = orjson.dumps({"type": signal.item_type, "length": len(body), "content_type": media})
    return b"{}\n" + header + b"\n" + body + b"\n"


def success_body(signal: Signal, media: str) -> bytes:
    """An empty Export*ServiceResponse in the request's encoding (all records accepted)."""
    from google.protobuf import json_format

    response = signal.response()
    if media == PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response).encode()

"""The pure parts of OTLP ingest, table by table: content types, decoding (protobuf and OTLP's
JSON), typed values, resource attributes, span ops, descriptions, segments and log levels."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from vedette.domain.envelope import Envelope, Item
from vedette.domain.otlp_wire import MAX_OTLP_RECORDS, MalformedProtobuf, count_records
from vedette.domain.processed import Outcome
from vedette.ingest.errors import BadRequest
from vedette.ingest.otlp import (
    SIGNALS,
    UnsupportedContentType,
    check_body,
    media_type,
    spooled_envelope,
    success_body,
)
from vedette.processing.otlp_decode import (
    UndecodableOtlp,
    decode_request,
    resource_attributes,
    typed_value,
)
from vedette.processing.otlp_logs import log_item, record_level
from vedette.processing.otlp_spans import (
    is_segment,
    segment_ids,
    span_description,
    span_item,
    span_op,
    status_name,
)
from vedette.processing.pipeline import ProcessingConfig, process_envelope


def attrs(**values: object) -> dict[str, dict[str, Any]]:
    """Typed attributes from keyword arguments (``__`` stands for a dot)."""
    kinds = {str: "string", int: "integer", float: "double", bool: "boolean"}
    return {k.replace("__", "."): {"type": kinds[type(v)], "value": v} for k, v in values.items()}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/x-protobuf", "application/x-protobuf"),
        ("application/protobuf", "application/x-protobuf"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ("text/plain", None),
        (None, None),
    ],
)
def test_media_type(header: str | None, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(UnsupportedContentType):
            media_type(header)
    else:
        assert media_type(header) == expected


@pytest.mark.parametrize(
    ("media", "body", "accepted"),
    [
        ("application/x-protobuf", b"", True),
        ("application/x-protobuf", ExportTraceServiceRequest().SerializeToString(), True),
        ("application/x-protobuf", b"garbage", False),
        ("application/json", b'{"resourceSpans": []}', True),
        ("application/json", b"[]", False),
        ("application/json", b"{", False),
    ],
)
def test_ingest_checks_only_the_document_kind(media: str, body: bytes, accepted: bool) -> None:
    if accepted:
        check_body(SIGNALS["traces"], media, body)
    else:
        with pytest.raises(BadRequest):
            check_body(SIGNALS["traces"], media, body)


def test_success_bodies_are_empty_responses_in_the_request_encoding() -> None:
    assert success_body(SIGNALS["logs"], "application/x-protobuf") == b""
    assert orjson.loads(success_body(SIGNALS["traces"], "application/json")) == {}


@pytest.mark.parametrize(
    ("payload", "content_type", "reason"),
    [
        (b"garbage", "application/x-protobuf", "invalid_otlp_protobuf"),
        (b"{", "application/json", "invalid_otlp_json"),
        (b"[]", "application/json", "invalid_otlp_json"),
        (b'{"resourceSpans": 5}', "application/json", "invalid_otlp_json"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}',
         "application/json", "invalid_otlp_json"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"links": 5}]}]}]}',
         "application/json", "invalid_otlp_json"),
        (b"{}", "text/plain", "unsupported_otlp_content_type"),
    ],
)  # fmt: skip
def test_undecodable_bodies_name_their_reason(
    payload: bytes, content_type: str, reason: str
) -> None:
    with pytest.raises(UndecodableOtlp, match=reason):
        decode_request(payload, content_type, "traces", ExportTraceServiceRequest())


def test_json_ids_are_hex_and_integers_may_be_strings() -> None:
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
        "parentSpanId": "not hex", "startTimeUnixNano": "1544712660000000000",
        "kind": "SPAN_KIND_SERVER", "unknownField": 1,
        "links": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b173"}],
    }]}]}]}  # fmt: skip
    request = decode_request(
        orjson.dumps(body), "application/json", "traces", ExportTraceServiceRequest()
    )
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.span_id.hex() == "eee19b7ec3c1b174"
    assert span.parent_span_id == b""  # a malformed id is dropped, not misread as base64
    assert span.links[0].span_id.hex() == "eee19b7ec3c1b173"
    assert (span.start_time_unix_nano, span.kind) == (1544712660000000000, Span.SPAN_KIND_SERVER)
    logs = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "ab" * 16}]}]}]}
    decoded = decode_request(
        orjson.dumps(logs), "application/json", "logs", ExportLogsServiceRequest()
    )
    assert decoded.resource_logs[0].scope_logs[0].log_records[0].trace_id == b"\xab" * 16


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (AnyValue(string_value="a"), {"type": "string", "value": "a"}),
        (AnyValue(bool_value=False), {"type": "boolean", "value": False}),
        (AnyValue(int_value=-(2**63)), {"type": "integer", "value": -(2**63)}),
        (AnyValue(double_value=1.5), {"type": "double", "value": 1.5}),
        (AnyValue(double_value=float("nan")), None),
        (AnyValue(), None),
        (AnyValue(bytes_value=b"\x00\x01"), {"type": "string", "value": "AAE="}),
        (
            AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1), AnyValue()])),
            {"type": "string", "value": "[1,null]"},
        ),
        (
            AnyValue(
                kvlist_value=KeyValueList(
                    values=[KeyValue(key="k", value=AnyValue(string_value="v"))]
                )
            ),
            {"type": "string", "value": '{"k":"v"}'},
        ),
    ],
)
def test_typed_value(value: AnyValue, expected: dict[str, Any] | None) -> None:
    assert typed_value(value) == expected


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            {"service.name": "shop", "service.version": "1.2", "host.name": "h1",
             "deployment.environment": "old", "deployment.environment.name": "prod"},
            {"service.name": "shop", "sentry.release": "1.2", "sentry.environment": "prod"},
        ),
        ({"deployment.environment": "staging"}, {"sentry.environment": "staging"}),
        ({"telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.45.2"},
         {"sentry.sdk.name": "opentelemetry", "sentry.sdk.version": "1.45.2"}),
        ({"host.name": "h1"}, {}),
    ],
)  # fmt: skip
def test_resource_attributes(resource: dict[str, str], expected: dict[str, str]) -> None:
    pairs = [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in resource.items()]
    found = resource_attributes(pairs)
    assert {k: v["value"] for k, v in found.items()} == expected


@pytest.mark.parametrize(
    ("attributes", "kind", "op"),
    [
        (attrs(sentry__op="cache.get", db__system="redis"), "client", "cache.get"),
        (attrs(db__system="postgresql"), "client", "db"),
        (attrs(db__system__name="sqlite"), "internal", "db"),
        (attrs(http__request__method="GET"), "server", "http.server"),
        (attrs(http__method="GET"), "client", "http.client"),
        (attrs(http__request__method="GET"), "internal", None),
        (attrs(messaging__system="kafka"), "producer", "queue.publish"),
        (attrs(messaging__system="kafka"), "consumer", "queue.process"),
        (attrs(rpc__system="grpc"), "server", "rpc.server"),
        ({}, "server", None),
    ],
)
def test_span_op(attributes: dict[str, dict[str, Any]], kind: str, op: str | None) -> None:
    assert span_op(attributes, kind) == op


@pytest.mark.parametrize(
    ("name", "op", "attributes", "description"),
    [
        ("GET", "http.client", attrs(http__request__method="GET", url__full="https://a.b/c"),
         "GET https://a.b/c"),
        ("GET", "http.client", attrs(http__method="GET", http__url="https://a.b/old"),
         "GET https://a.b/old"),
        ("GET", "http.client", attrs(http__request__method="GET"), "GET"),
        ("GET", "http.server", attrs(http__request__method="GET", http__route="/items/{id}"),
         "GET /items/{id}"),
        ("GET", "http.server", attrs(http__method="GET", http__target="/items/7"),
         "GET /items/7"),
        ("GET /items/{id}", "http.server",
         attrs(http__request__method="GET", http__route="/other"), "GET /items/{id}"),
        ("SELECT", "db", attrs(db__statement="SELECT 1"), "SELECT"),
        ("work", None, {}, "work"),
    ],
)  # fmt: skip
def test_span_description(
    name: str, op: str | None, attributes: dict[str, dict[str, Any]], description: str
) -> None:
    assert span_description(name, op, attributes) == description


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (Status.STATUS_CODE_UNSET, "ok"),
        (Status.STATUS_CODE_OK, "ok"),
        (Status.STATUS_CODE_ERROR, "error"),
    ],
)
def test_status_name(code: Status.StatusCode.ValueType, expected: str) -> None:
    assert status_name(Status(code=code)) == expected


@pytest.mark.parametrize(
    ("parent", "flags", "segment"),
    [
        (b"", 0, True),
        (b"\0" * 8, 0, True),  # an all-zero parent id is no parent
        (b"\1" * 8, 0, False),
        (b"\1" * 8, 0x100, False),  # the parent is known to be local
        (b"\1" * 8, 0x300, True),  # the parent is remote: another service's span
        (b"\1" * 8, 0x200, False),  # "is remote" without "has is remote" means nothing
    ],
)
def test_is_segment(parent: bytes, flags: int, segment: bool) -> None:
    assert is_segment(Span(span_id=b"\2" * 8, parent_span_id=parent, flags=flags)) is segment


def sid(n: int) -> bytes:
    return n.to_bytes(8, "big")


def test_segment_ids_follow_parents_within_the_request() -> None:
    spans = [
        Span(span_id=sid(3), parent_span_id=sid(2)),
        Span(span_id=sid(2), parent_span_id=sid(1)),
        Span(span_id=sid(1)),  # root
        Span(span_id=sid(5), parent_span_id=sid(9), flags=0x300),  # remote parent
        Span(span_id=sid(6), parent_span_id=sid(5)),
        Span(span_id=sid(7), parent_span_id=sid(8)),  # parent not in the request
        Span(span_id=sid(10), parent_span_id=sid(11)),  # a loop
        Span(span_id=sid(11), parent_span_id=sid(10)),
    ]
    assert segment_ids(spans) == {
        sid(1): sid(1), sid(2): sid(1), sid(3): sid(1), sid(5): sid(5), sid(6): sid(5)
    }  # fmt: skip


@pytest.mark.parametrize(
    ("number", "text", "level"),
    [
        (1, "", "trace"),
        (9, "WARNING", "info"),  # the number wins over the text
        (12, "", "info"),
        (13, "", "warn"),
        (24, "", "fatal"),
        (0, "WARNING", "WARNING"),  # read by logs.normalize_level: warn
        (25, "Error", "Error"),
        (0, "", None),
    ],
)
def test_record_level(number: int, text: str, level: str | None) -> None:
    assert record_level(number, text) == level


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (LogRecord(body=AnyValue(string_value="hi"), time_unix_nano=2_000_000_000,
                   observed_time_unix_nano=3_000_000_000),
         {"body": "hi", "timestamp": 2.0, "level": None, "severity_number": None}),
        (LogRecord(body=AnyValue(int_value=5), observed_time_unix_nano=3_000_000_000,
                   severity_number=17),
         {"body": "5", "timestamp": 3.0, "level": "error", "severity_number": 17}),
        (LogRecord(body=AnyValue(kvlist_value=KeyValueList(
             values=[KeyValue(key="a", value=AnyValue(bool_value=True))]))),
         {"body": '{"a":true}', "timestamp": None}),
        (LogRecord(), {"body": "", "trace_id": None, "span_id": None}),
        (LogRecord(trace_id=b"\0" * 16, span_id=b"\0" * 8), {"trace_id": None, "span_id": None}),
        (LogRecord(trace_id=b"\1" * 16, span_id=b"\2" * 8),
         {"trace_id": "01" * 16, "span_id": "02" * 8}),
    ],
)  # fmt: skip
def test_log_item(record: LogRecord, expected: dict[str, Any]) -> None:
    found = log_item(record, {})
    assert {key: found[key] for key in expected} == expected


def test_log_item_attributes_over_resource_and_event_name() -> None:
    record = LogRecord(
        attributes=[KeyValue(key="service.name", value=AnyValue(string_value="worker"))],
        event_name="order.paid",
    )
    found = log_item(record, {"service.name": {"type": "string", "value": "shop"}})
    assert found["attributes"] == {
        "service.name": {"type": "string", "value": "worker"},
        "event.name": {"type": "string", "value": "order.paid"},
    }


def test_span_item() -> None:
    span = Span(
        trace_id=b"\1" * 16, span_id=b"\2" * 8, parent_span_id=b"\3" * 8, name="GET",
        kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=1_000_000_000,
        end_time_unix_nano=1_500_000_000,
        attributes=[KeyValue(key="http.method", value=AnyValue(string_value="GET")),
                    KeyValue(key="http.url", value=AnyValue(string_value="https://a.b/")),
                    KeyValue(key="http.status_code", value=AnyValue(int_value=404))],
        status=Status(code=Status.STATUS_CODE_ERROR, message="not there"),
    )  # fmt: skip
    found = span_item(span, {"sentry.release": {"type": "string", "value": "1"}}, b"\3" * 8)
    attributes = {key: typed["value"] for key, typed in found.pop("attributes").items()}
    assert found == {
        "trace_id": "01" * 16, "span_id": "02" * 8, "parent_span_id": "03" * 8,
        "name": "GET https://a.b/", "start_timestamp": 1.0, "end_timestamp": 1.5,
        "is_segment": False, "status": "error",
    }  # fmt: skip
    assert attributes == {
        "sentry.release": "1", "http.method": "GET", "http.url": "https://a.b/",
        "http.status_code": 404, "http.response.status_code": 404, "otel.kind": "client",
        "sentry.op": "http.client", "otel.status_description": "not there",
        "sentry.segment.id": "03" * 8,
    }  # fmt: skip


def otlp_envelope(item_type: str, media: str, body: bytes) -> Envelope:
    signal = next(s for s in SIGNALS.values() if s.item_type == item_type)
    raw = spooled_envelope(signal, media, body)
    header, item_header, payload = raw.split(b"\n", 2)
    return Envelope(orjson.loads(header), (Item(orjson.loads(item_header), payload[:-1]),))


@pytest.mark.parametrize(
    ("item_type", "media", "body", "outcomes"),
    [
        ("otlp_traces", "application/x-protobuf", b"garbage",
         [Outcome("span", "invalid", "invalid_otlp_protobuf", 1)]),
        ("otlp_logs", "application/json", b'{"resourceLogs": {}}',
         [Outcome("log_item", "invalid", "invalid_otlp_json", 1)]),
        ("otlp_traces", "application/json", b'{"resourceSpans": [{"scopeSpans": [{"spans": '
         b'[{"traceId": "ab", "spanId": "cd"}]}]}]}',
         [Outcome("span", "invalid", "invalid_span", 1)]),  # ids too short
        ("otlp_logs", "application/json", b"{}", []),
    ],
)  # fmt: skip
def test_the_worker_counts_what_it_cannot_read(
    item_type: str, media: str, body: bytes, outcomes: list[Outcome]
) -> None:
    result = process_envelope(
        otlp_envelope(item_type, media, body), time.time(), None, ProcessingConfig()
    )
    assert result.outcomes == outcomes
    assert not result.spans and not result.logs


# Field names of OTLP requests, so that generated documents reach deep into the structure.
OTLP_KEYS = st.sampled_from([
    "resourceSpans", "resourceLogs", "scopeSpans", "scopeLogs", "spans", "logRecords",
    "resource", "scope", "attributes", "key", "value", "stringValue", "intValue", "doubleValue",
    "arrayValue", "kvlistValue", "values", "traceId", "spanId", "parentSpanId", "links", "name",
    "kind", "flags", "status", "code", "body", "severityNumber", "startTimeUnixNano",
    "endTimeUnixNano", "timeUnixNano",
])  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(OTLP_KEYS, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(document=st.dictionaries(OTLP_KEYS, JSON_VALUES, max_size=4), raw=st.binary(max_size=200))
def test_any_body_is_read_or_named_invalid_never_a_crash(document: object, raw: bytes) -> None:
    try:
        body = orjson.dumps(document)
    except orjson.JSONEncodeError:  # integers beyond 64 bits
        return
    for item_type in ("otlp_traces", "otlp_logs"):
        for media, payload in (("application/json", body), ("application/x-protobuf", raw)):
            result = process_envelope(
                otlp_envelope(item_type, media, payload), 1.8e9, None, ProcessingConfig()
            )
            assert all(o.outcome in ("accepted", "invalid") for o in result.outcomes)


def traces_request(spans_per_scope: list[list[int]]) -> bytes:
    """A request of one resource per list, one scope per number, that many spans each (with
    attributes, so that every wire type of a span is skipped on the way)."""
    request = ExportTraceServiceRequest()
    for scopes in spans_per_scope:
        resource = request.resource_spans.add()
        resource.resource.attributes.add(key="service.name", value=AnyValue(string_value="shop"))
        for count in scopes:
            scope = resource.scope_spans.add()
            scope.scope.name = "tests"
            for n in range(count):
                span = scope.spans.add(
                    name=f"s{n}", trace_id=b"\1" * 16, span_id=b"\2" * 8,
                    start_time_unix_nano=n, kind=Span.SPAN_KIND_SERVER,
                )  # fmt: skip
                span.attributes.add(key="n", value=AnyValue(int_value=n))
                span.attributes.add(key="x", value=AnyValue(double_value=0.5))
    return request.SerializeToString()


@pytest.mark.parametrize(
    ("spans_per_scope", "limit", "counted"),
    [
        ([], 10, 0),
        ([[3]], 10, 3),
        ([[2, 0, 4], [1]], 10, 7),
        ([[6, 6]], 10, 11),  # past the limit: limit + 1, and the walk stopped there
        ([[0] * 12], 10, 11),  # empty scopes cost a walk too
    ],
)
def test_records_are_counted_on_the_wire(
    spans_per_scope: list[list[int]], limit: int, counted: int
) -> None:
    assert count_records(traces_request(spans_per_scope), limit) == counted


def test_log_records_are_counted_the_same_way() -> None:
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    for n in range(4):
        scope.log_records.add(body=AnyValue(string_value=f"line {n}"), time_unix_nano=n)
    assert count_records(request.SerializeToString(), 10) == 4


@pytest.mark.parametrize(
    "body",
    [b"\x0a\x05\x12", b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", b"\x0b", b"\x0a"],
    ids=["a field past the end", "an overlong varint", "a group", "a length missing"],
)
def test_malformed_wire_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedProtobuf):
        count_records(body, 10)


def test_the_worker_refuses_json_of_too_many_records_before_decoding_it() -> None:
    spans = b",".join([b"{}"] * (MAX_OTLP_RECORDS + 1))
    payload = b'{"resourceSpans": [{"scopeSpans": [{"spans": [' + spans + b"]}]}]}"
    with pytest.raises(UndecodableOtlp, match="too_many_otlp_records"):
        decode_request(payload, "application/json", "traces", ExportTraceServiceRequest())

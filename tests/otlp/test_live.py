"""The OpenTelemetry Python SDK's own OTLP/HTTP exporters against a live server, on both engines:
traces and logs each stored once and found through the API; OTLP's JSON encoding and gzip;
the refusals an exporter can meet."""

from __future__ import annotations

import gzip
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from tests.conftest import LiveVedette, ProjectHandle
from tests.otlp.exporting import RESOURCE, auth, otlp_url, send_trace

pytestmark = pytest.mark.e2e

DRIVER = Path(__file__).with_name("sentry_otlp_driver.py")


def project_api(server: LiveVedette, project: ProjectHandle, path: str, **query: Any) -> Any:
    return server.api_get(f"/api/0/projects/{project.org}/{project.slug}/{path}", **query)


@pytest.fixture
def project(live_vedette: LiveVedette) -> ProjectHandle:
    return live_vedette.create_project()


def test_sdk_trace_is_a_transaction_and_a_trace(
    live_vedette: LiveVedette, project: ProjectHandle
) -> None:
    marker = uuid.uuid4().hex[:8]
    trace_id = send_trace(live_vedette, project, marker)
    live_vedette.wait_processed()

    name = f"POST /checkout/{marker}"
    rows = project_api(live_vedette, project, "transactions/", statsPeriod="24h")
    assert [(r["transaction"], r["count"]) for r in rows] == [(name, 1)]
    assert project_api(live_vedette, project, "transactions/", statsPeriod="24h", release="2.4.0")
    trace = project_api(live_vedette, project, f"traces/{trace_id}/")
    assert [t["transaction"] for t in trace["transactions"]] == [name]
    spans = {s["op"]: s for s in trace["spans"]}
    assert len(trace["spans"]) == 4  # stored once each
    root = spans["http.server"]
    assert root["is_segment"] and root["depth"] == 0 and root["description"] == name
    assert spans["db"]["description"] == "SELECT * FROM carts WHERE id = 7"
    assert spans["http.client"]["description"] == "GET https://pay.example/quote"
    assert spans["http.client"]["status"] == "unavailable"
    [step] = [s for s in trace["spans"] if s["description"] == "reserve stock"]
    assert step["op"] is None and step["data"]["items"] == 3 and step["status"] == "ok"
    assert {s["segment_id"] for s in trace["spans"]} == {root["span_id"]}
    assert root["data"]["service.name"] == "shop" and root["data"]["otel.kind"] == "server"
    [row] = trace["transactions"]
    assert (row["release"], row["environment"]) == ("2.4.0", "prod")
    assert project_api(live_vedette, project, "stats/")["accepted"]["span"] == 4


def test_sentry_sdk_otlp_integration_links_its_error_to_the_trace(
    live_vedette: LiveVedette, project: ProjectHandle
) -> None:
    """sentry-sdk's OTLPIntegration: the endpoint and X-Sentry-Auth it derives from the DSN
    are accepted, and the error captured inside an OpenTelemetry span is part of its trace."""
    marker = uuid.uuid4().hex[:8]
    done = subprocess.run(
        [sys.executable, str(DRIVER), project.dsn, marker],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    trace_id = done.stdout.strip()
    live_vedette.wait_processed()

    trace = project_api(live_vedette, project, f"traces/{trace_id}/")
    [transaction] = trace["transactions"]
    assert transaction["transaction"] == f"GET /reports/{marker}"
    [error] = trace["errors"]
    [render] = [s for s in trace["spans"] if s["description"] == "render"]
    assert error["eventID"] in render["errors"] and error["spanID"] == render["span_id"]
    assert error["transaction"]["spanID"] == transaction["spanID"]
    assert [i["title"] for i in live_vedette.issues(project)] == [
        f"RuntimeError: report failed {marker}"
    ]


def test_sdk_logs_with_gzip_are_stored_once_and_searchable(
    live_vedette: LiveVedette, project: ProjectHandle
) -> None:
    marker = f"m{uuid.uuid4().hex[:8]}"
    provider = LoggerProvider(resource=Resource.create(RESOURCE))
    exporter = OTLPLogExporter(
        endpoint=otlp_url(live_vedette, project, "logs"),
        headers=auth(project),
        compression=Compression.Gzip,
    )
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logger = provider.get_logger(f"shop.shipping.{marker}")
    with TracerProvider().get_tracer("t").start_as_current_span("ship") as span:
        logger.emit(
            severity_number=SeverityNumber.WARN,
            severity_text="WARNING",
            body=f"Carrier DHL is slow {marker}",
            attributes={"carrier.id": 42},
        )  # the current span's ids go along
        context = span.get_span_context()
    logger.emit(severity_text="Information", body=f"Parcel sent {marker}")  # no number
    assert provider.force_flush()
    provider.shutdown()
    live_vedette.wait_processed()

    rows = project_api(live_vedette, project, "logs/", query=marker, statsPeriod="24h")
    assert sorted((r["message"], r["level"]) for r in rows) == [
        (f"Carrier DHL is slow {marker}", "warn"),
        (f"Parcel sent {marker}", "info"),
    ]
    [slow] = project_api(live_vedette, project, "logs/", query=f"level:warn {marker}")
    assert slow["attributes"]["carrier.id"] == 42
    assert slow["attributes"]["otel.scope.name"] == f"shop.shipping.{marker}"
    assert slow["trace_id"] == format(context.trace_id, "032x")
    assert (slow["release"], slow["environment"]) == ("2.4.0", "prod")
    assert slow["attributes"]["service.name"] == "shop"
    assert slow["sdk"].startswith("opentelemetry ")  # telemetry.sdk.name and .version
    by_service = project_api(live_vedette, project, "logs/", query=f"service.name:shop {marker}")
    assert len(by_service) == 2
    assert project_api(live_vedette, project, "stats/")["accepted"]["log_item"] == 2


def test_otlp_json_with_hex_ids_and_string_integers(
    live_vedette: LiveVedette, project: ProjectHandle
) -> None:
    """OTLP's JSON encoding, as a collector or a browser SDK sends it; the key in the query."""
    marker = uuid.uuid4().hex[:8]
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    start = time.time_ns() - 1_000_000_000
    traces = {"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "edge"}},
            {"key": "deployment.environment.name", "value": {"stringValue": "staging"}},
        ]},
        "scopeSpans": [{"scope": {"name": "edge"}, "spans": [{
            "traceId": trace_id, "spanId": span_id, "name": f"job {marker}", "kind": 1,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 250_000_000),
            "attributes": [{"key": "retries", "value": {"intValue": "2"}}],
            "status": {"code": 2, "message": "boom"},
        }]}],
    }]}  # fmt: skip
    logs = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "observedTimeUnixNano": str(start), "severityNumber": 17, "severityText": "ERROR",
        "body": {"stringValue": f"job failed {marker}"}, "traceId": trace_id, "spanId": span_id,
    }]}]}]}  # fmt: skip
    query = {"sentry_key": project.public_key}
    for signal, body in (("traces", traces), ("logs", logs)):
        response = httpx.post(
            otlp_url(live_vedette, project, signal), params=query, content=orjson.dumps(body),
            headers={"content-type": "application/json"},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {}
    live_vedette.wait_processed()

    [row] = project_api(live_vedette, project, "transactions/", statsPeriod="24h")
    assert (row["transaction"], row["failure_count"]) == (f"job {marker}", 1)
    [span] = project_api(live_vedette, project, f"traces/{trace_id}/")["spans"]
    assert span["span_id"] == span_id and span["status"] == "internal_error"
    assert span["data"]["retries"] == 2 and span["data"]["otel.status_description"] == "boom"
    assert span["duration"] == pytest.approx(250.0)
    [log] = project_api(live_vedette, project, "logs/", query=f"trace:{trace_id}")
    assert (log["level"], log["message"], log["span_id"]) == (
        "error",
        f"job failed {marker}",
        span_id,
    )


def test_protobuf_response_and_worker_side_invalid_body(
    live_vedette: LiveVedette, project: ProjectHandle
) -> None:
    """A protobuf request is answered with an (empty) protobuf response; a JSON body that is an
    object but no OTLP request passes ingest and is counted invalid by the worker."""
    url = otlp_url(live_vedette, project, "logs")
    empty = httpx.post(url, headers={**auth(project), "content-type": "application/x-protobuf"})
    assert (empty.status_code, empty.content) == (200, b"")
    assert empty.headers["content-type"] == "application/x-protobuf"
    odd = httpx.post(
        otlp_url(live_vedette, project, "traces"), content=b'{"resourceSpans": 5}',
        headers={**auth(project), "content-type": "application/json"},
    )  # fmt: skip
    assert odd.status_code == 200
    live_vedette.wait_processed()
    stats = project_api(live_vedette, project, "stats/")
    assert stats.get("invalid") == {"span": 1}
    assert "span" not in stats.get("accepted", {})


def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out) + bytes([value])


def empty_spans(count: int) -> bytes:
    """An ExportTraceServiceRequest of one resource, one scope and ``count`` empty spans,
    written on the wire directly (building it with protobuf would take what ingest avoids)."""
    spans = b"\x12\x00" * count  # a scope's field 2, each a span of no bytes
    scope = b"\x12" + varint(len(spans)) + spans  # a resource's field 2: the scope
    return b"\x0a" + varint(len(scope)) + scope  # the request's field 1: the resource


UNKNOWN_KEY = "0" * 32
REFUSALS = [
    # (case, the key sent, content type, content encoding, body, status)
    ("no key", None, "application/x-protobuf", None, b"", 401),
    ("unknown key", UNKNOWN_KEY, "application/x-protobuf", None, b"", 403),
    ("garbage protobuf", "own", "application/x-protobuf", None, b"garbage", 400),
    ("JSON that is not an object", "own", "application/json", None, b"[1, 2]", 400),
    ("text", "own", "text/plain", None, b"hello", 415),
    ("gzip bomb", "own", "application/x-protobuf", "gzip", b"\0" * (13 * 1024 * 1024), 413),
    # Empty spans cost two bytes each, and far more once decoded: counted first, refused.
    ("20,000 empty spans", "own", "application/x-protobuf", "gzip", empty_spans(20_000), 413),
    (
        "millions of JSON objects",
        "own",
        "application/json",
        "gzip",
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [' + b"{}," * 2_100_000 + b"{}]}]}]}",
        413,
    ),
]


@pytest.mark.parametrize(
    ("key", "content_type", "encoding", "body", "status"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_refusals(
    live_vedette: LiveVedette,
    project: ProjectHandle,
    key: str | None,
    content_type: str,
    encoding: str | None,
    body: bytes,
    status: int,
) -> None:
    headers = {"content-type": content_type}
    if key is not None:
        headers["x-sentry-auth"] = (
            f"sentry sentry_key={project.public_key if key == 'own' else key}"
        )
    if encoding == "gzip":
        headers["content-encoding"], body = "gzip", gzip.compress(body)
    response = httpx.post(otlp_url(live_vedette, project, "traces"), content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["x-sentry-error"]
    live_vedette.wait_processed()
    assert project_api(live_vedette, project, "stats/") == {}

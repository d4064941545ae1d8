"""Exporting to a live server with the OpenTelemetry SDK's own OTLP/HTTP exporters."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from tests.conftest import LiveVedette, ProjectHandle

RESOURCE = {"service.name": "shop", "service.version": "2.4.0", "deployment.environment": "prod"}


def otlp_url(server: LiveVedette, project: ProjectHandle, signal: str) -> str:
    return f"{server.base_url}/api/{project.id}/integration/otlp/v1/{signal}"


def auth(project: ProjectHandle) -> dict[str, str]:
    return {"x-sentry-auth": f"sentry sentry_key={project.public_key}"}


def send_trace(server: LiveVedette, project: ProjectHandle, marker: str) -> str:
    """A server span with a query, an outgoing call and a failing step, through the SDK's
    batch processor and its protobuf exporter; the trace id."""
    provider = TracerProvider(resource=Resource.create(RESOURCE))
    exporter = OTLPSpanExporter(endpoint=otlp_url(server, project, "traces"), headers=auth(project))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("shop.checkout")
    root_attributes = {"http.request.method": "POST", "http.route": f"/checkout/{marker}"}
    with tracer.start_as_current_span("POST", kind=SpanKind.SERVER, attributes=root_attributes):
        with tracer.start_as_current_span(
            "SELECT shop",
            attributes={
                "db.system": "postgresql",
                "db.statement": "SELECT * FROM carts WHERE id = 7",
            },
        ):
            pass
        with tracer.start_as_current_span(
            "GET",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": "GET",
                "url.full": "https://pay.example/quote",
                "http.response.status_code": 503,
            },
        ) as call:
            call.set_status(Status(StatusCode.ERROR))
        with tracer.start_as_current_span("reserve stock") as step:
            step.set_attribute("items", 3)
            trace_id = format(step.get_span_context().trace_id, "032x")
    assert provider.force_flush()
    provider.shutdown()
    return trace_id

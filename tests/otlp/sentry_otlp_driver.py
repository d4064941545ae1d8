"""Run in a process of its own (the integration sets OpenTelemetry's global tracer provider):
sentry-sdk with its OTLPIntegration, which exports OpenTelemetry spans to the OTLP endpoint it
derives from the DSN; an error captured inside a span joins that span's trace.

Usage: ``python sentry_otlp_driver.py DSN MARKER``; prints the trace id."""

from __future__ import annotations

import sys

import sentry_sdk
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sentry_sdk.integrations.otlp import OTLPIntegration


def main(dsn: str, marker: str) -> None:
    sentry_sdk.init(
        dsn=dsn, integrations=[OTLPIntegration()], default_integrations=False, release="api@7"
    )
    tracer = trace.get_tracer("api")
    with tracer.start_as_current_span(
        f"GET /reports/{marker}",
        kind=SpanKind.SERVER,
        attributes={"http.request.method": "GET", "http.route": f"/reports/{marker}"},
    ) as span:
        with tracer.start_as_current_span("render"):
            try:
                raise RuntimeError(f"report failed {marker}")
            except RuntimeError as error:
                sentry_sdk.capture_exception(error)
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider = trace.get_tracer_provider()
    assert provider.force_flush()  # type: ignore[attr-defined]
    sentry_sdk.flush(timeout=10)
    print(trace_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

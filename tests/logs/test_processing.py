"""Log items as the SDKs send them (the captured corpora) into stored records: pure processing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from vedette.domain.envelope import parse_envelope
from vedette.domain.processed import LogRecord, Outcome
from vedette.processing import logs
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.processing.scrub import ScrubConfig

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
RECEIVED = 1_795_885_560.0  # just after the corpora's capture


def corpus_logs(sdk: str) -> list[LogRecord]:
    envelope = parse_envelope((CORPORA / sdk / "logs.envelope").read_bytes())
    result = process_envelope(envelope, RECEIVED, None, ProcessingConfig())
    assert result.outcomes == [Outcome("log_item", "accepted", "", 3)]
    return result.logs


# sdk, index, level, severity, body, template, parameters, release
CORPUS_RECORDS = [
    ("sdk-python", 0, "info", 9, "Order 17 created for acme",
     "Order {order_id} created for {customer}", {"order_id": 17, "customer": "acme"},
     "corpora-shop@1.4.2"),
    ("sdk-python", 1, "warn", 13, "Stock low", None, {}, "corpora-shop@1.4.2"),
    ("sdk-python", 2, "warn", 13, "Carrier DHL slow", "Carrier %s slow", {"0": "DHL"},
     "corpora-shop@1.4.2"),
    ("sdk-node", 0, "info", 9, "Order 17 created for acme", "Order %s created for %s",
     {"0": 17, "1": "acme"}, "corpora-shop-node@2.3.0"),
    ("sdk-node", 1, "warn", 13, "Stock low", None, {}, "corpora-shop-node@2.3.0"),
    ("sdk-node", 2, "error", 17, "Carrier DHL timed out", None, {}, "corpora-shop-node@2.3.0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("sdk", "index", "level", "severity", "body", "template", "parameters", "release"),
    CORPUS_RECORDS,
)
def test_corpus_records(
    sdk: str,
    index: int,
    level: str,
    severity: int,
    body: str,
    template: str | None,
    parameters: dict[str, Any],
    release: str,
) -> None:
    record = corpus_logs(sdk)[index]
    assert (record.level, record.severity_number, record.body) == (level, severity, body)
    assert (record.template, record.parameters) == (template, parameters)
    assert (record.release, record.environment) == (release, "corpora")
    assert record.trace_id is not None and len(record.trace_id) == 32
    assert record.sdk is not None and record.sdk.startswith("sentry.")
    assert RECEIVED - 60 < record.timestamp < RECEIVED


def test_typed_attributes_are_kept_with_their_types() -> None:
    record = corpus_logs("sdk-python")[2]
    assert record.attributes["logger.name"] == {"type": "string", "value": "corpora.shipping"}
    assert record.attributes["code.line.number"] == {"type": "integer", "value": 897}
    stock = corpus_logs("sdk-node")[1]
    assert stock.attributes["left"] == {"type": "integer", "value": 2}


def test_ids_are_stable_across_redelivery_and_distinct_within_a_container() -> None:
    first = [r.log_id for r in corpus_logs("sdk-python")]
    assert first == [r.log_id for r in corpus_logs("sdk-python")]
    assert len(set(first)) == 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"type": "string", "value": "x"}, {"type": "string", "value": "x"}),
        ({"type": "integer", "value": 3}, {"type": "integer", "value": 3}),
        ({"type": "double", "value": 3}, {"type": "double", "value": 3.0}),
        ({"type": "boolean", "value": True}, {"type": "boolean", "value": True}),
        ({"type": "integer", "value": True}, None),
        ({"type": "integer", "value": "3"}, None),
        ({"type": "double", "value": float("nan")}, None),
        ({"type": "mystery", "value": 1}, None),
        ("bare", {"type": "string", "value": "bare"}),
        (2.5, {"type": "double", "value": 2.5}),
        ([1, 2], None),
    ],
)
def test_typed_value(raw: object, expected: dict[str, Any] | None) -> None:
    assert logs.typed_value(raw) == expected


@pytest.mark.parametrize(
    ("level", "severity", "expected"),
    [
        ("warning", None, "warn"),
        ("CRITICAL", None, "fatal"),
        ("Error", None, "error"),
        (None, 1, "trace"),
        (None, 8, "debug"),
        (None, 12, "info"),
        (None, 21, "fatal"),
        ("nonsense", None, "info"),
    ],
)
def test_levels(level: str | None, severity: int | None, expected: str) -> None:
    raw: dict[str, Any] = {"body": "x", "level": level}
    if severity is not None:
        raw["severity_number"] = severity
    record = logs.parse_record(raw, RECEIVED, "k")
    assert record is not None and record.level == expected


def envelope_of(*items: tuple[dict[str, Any], bytes]) -> bytes:
    parts = [b"{}"]
    for header, payload in items:
        parts += [orjson.dumps({**header, "length": len(payload)}), payload]
    return b"\n".join(parts) + b"\n"


def test_records_without_a_body_are_invalid_one_by_one() -> None:
    container = {"items": [{"body": "kept", "span_id": "ABCDEF0123456789"}, {"level": "info"}, 7]}
    body = envelope_of(({"type": "log", "item_count": 3}, orjson.dumps(container)))
    result = process_envelope(parse_envelope(body), RECEIVED, None, ProcessingConfig())
    assert [r.body for r in result.logs] == ["kept"]
    assert result.logs[0].span_id == "abcdef0123456789"
    assert result.logs[0].timestamp == RECEIVED
    assert sorted(result.outcomes, key=lambda o: o.outcome) == [
        Outcome("log_item", "accepted", "", 1),
        Outcome("log_item", "invalid", "invalid_log", 2),
    ]


@pytest.mark.parametrize(
    ("item_type", "category"),
    [
        ("replay_event", "replay"),
        ("replay_recording", "replay"),
        ("replay_video", "replay"),
        ("trace_metric", "trace_metric"),
        ("statsd", "metric_bucket"),
        ("otel_span", "span"),
    ],
)
def test_item_types_not_kept_are_filtered_with_their_reason(item_type: str, category: str) -> None:
    body = envelope_of(({"type": item_type}, b"{}"))
    result = process_envelope(parse_envelope(body), RECEIVED, None, ProcessingConfig())
    assert result.outcomes == [Outcome(category, "filtered", f"{item_type}_not_kept", 1)]


def test_unknown_item_types_share_one_reason() -> None:
    body = envelope_of(({"type": "made_up"}, b"{}"), ({"type": "another"}, b"x"))
    result = process_envelope(parse_envelope(body), RECEIVED, None, ProcessingConfig())
    assert result.outcomes == [Outcome("default", "filtered", "unknown_item_type", 1)] * 2


def test_records_are_scrubbed_as_events_are() -> None:
    raw = {
        "body": "charged card 4111 1111 1111 1111 for bob",
        "attributes": {
            "sentry.message.parameter.password": {"type": "string", "value": "hunter2"},
            "db.url": {"type": "string", "value": "postgres://app:s3cret@db/shop"},
            "tenant_code": {"type": "integer", "value": 7},
            "sku": {"type": "string", "value": "SKU-7"},
        },
    }
    record = logs.parse_record(raw, RECEIVED, "k", ScrubConfig(extra_sensitive_keys=("tenant",)))
    assert record is not None
    assert "4111" not in record.body
    assert record.parameters == {"password": "[Filtered]"}
    assert "s3cret" not in record.attributes["db.url"]["value"]
    assert record.attributes["tenant_code"]["value"] == "[Filtered]"
    assert record.attributes["sku"] == {"type": "string", "value": "SKU-7"}
    off = logs.parse_record(raw, RECEIVED, "k", ScrubConfig(enabled=False))
    assert off is not None and off.parameters == {"password": "hunter2"}


def test_the_template_and_a_filtered_parameter_leave_no_secret_behind() -> None:
    """The SDK formats the body before anything is scrubbed: a parameter filtered by its name
    is taken out of the body too, and the template's own secrets are replaced as a body's."""
    raw = {
        "body": "login for ann with token=T0K3N-A and key S3CRET-KEY-1 failed",
        "attributes": {
            "sentry.message.template": {
                "type": "string", "value": "login for {} with token=T0K3N-A and key {} failed",
            },
            "sentry.message.parameter.user": {"type": "string", "value": "ann"},
            "sentry.message.parameter.api_key": {"type": "string", "value": "S3CRET-KEY-1"},
            "card": {"type": "integer", "value": 4111111111111111},
            "count": {"type": "integer", "value": 3},
        },
    }  # fmt: skip
    record = logs.parse_record(raw, RECEIVED, "k")
    assert record is not None
    assert record.body == "login for ann with token=[Filtered] and key [Filtered] failed"
    assert record.template == "login for {} with token=[Filtered] and key {} failed"
    assert record.attributes["sentry.message.template"]["value"] == record.template
    assert record.parameters == {"user": "ann", "api_key": "[Filtered]"}
    assert record.attributes["card"] == {"type": "string", "value": "[Filtered]"}
    assert record.attributes["count"] == {"type": "integer", "value": 3}


def test_an_otel_log_item_is_kept_as_a_log() -> None:
    record = {
        "severityText": "warn",
        "severityNumber": 13,
        "body": {"stringValue": "Stock low"},
        "timeUnixNano": "1795885550000000000",
        "traceId": "d32cbc878f9f4e7fb433c97abafe2d72",
        "attributes": [
            {"key": "sku", "value": {"stringValue": "SKU-7"}},
            {"key": "left", "value": {"intValue": "2"}},
            {"key": "ratio", "value": {"doubleValue": 0.5}},
            {"key": "sentry.release", "value": {"stringValue": "shop@9.8"}},
            {"key": "broken", "value": "no"},
        ],
    }
    body = envelope_of(({"type": "otel_log"}, orjson.dumps(record)))
    result = process_envelope(parse_envelope(body), RECEIVED, None, ProcessingConfig())
    assert result.outcomes == [Outcome("log_item", "accepted", "", 1)]
    [log] = result.logs
    assert (log.level, log.body, log.release) == ("warn", "Stock low", "shop@9.8")
    assert log.timestamp == 1795885550.0
    assert log.trace_id == "d32cbc878f9f4e7fb433c97abafe2d72"
    assert log.attributes == {
        "sku": {"type": "string", "value": "SKU-7"},
        "left": {"type": "integer", "value": 2},
        "ratio": {"type": "double", "value": 0.5},
        "sentry.release": {"type": "string", "value": "shop@9.8"},
    }
    empty = envelope_of(({"type": "otel_log"}, b'{"severityText": "info"}'))
    invalid = process_envelope(parse_envelope(empty), RECEIVED, None, ProcessingConfig())
    assert invalid.outcomes == [Outcome("log_item", "invalid", "invalid_log", 1)]

"""Span items are scrubbed as a transaction's spans are: secrets in v2 span attributes and in a
legacy span's data never reach the stored rows, look-alikes stay."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from tests.privacy.corpus import LOOKALIKES, SECRET_CORES, SECRETS

from vedette.domain.envelope import parse_envelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.processing.scrub import ScrubConfig
from vedette.processing.spans import SPAN_V2_CONTENT_TYPE

RECEIVED = 1_900_000_000.0


def span(**extra: Any) -> dict[str, Any]:
    return {
        "trace_id": uuid.uuid4().hex,
        "span_id": uuid.uuid4().hex[:16],
        "start_timestamp": RECEIVED - 2,
        "end_timestamp": RECEIVED - 1,
        "is_segment": True,
        "name": "GET /checkout",
        **extra,
    }


def envelope(payload: dict[str, Any], content_type: str | None) -> bytes:
    body = orjson.dumps(payload)
    header: dict[str, Any] = {"type": "span", "length": len(body)}
    if content_type:
        header["content_type"] = content_type
    return b"{}\n" + orjson.dumps(header) + b"\n" + body + b"\n"


def stored_data(body: bytes, config: ScrubConfig | None = None) -> dict[str, Any]:
    result = process_envelope(
        parse_envelope(body), RECEIVED, None, ProcessingConfig(scrub=config or ScrubConfig())
    )
    [row] = result.spans
    return dict(row.data or {})


@pytest.mark.parametrize("name", list(SECRETS))
def test_no_credential_is_kept_in_span_attributes(name: str) -> None:
    attributes = {
        "gateway": {"type": "string", "value": f"calling with {SECRETS[name]}"},
        "db.password": {"type": "string", "value": "hunter2"},
    }
    payload = {"items": [span(attributes=attributes)]}
    data = stored_data(envelope(payload, SPAN_V2_CONTENT_TYPE))
    assert SECRET_CORES[name] not in str(data)
    assert "hunter2" not in str(data)


def test_legacy_span_data_is_scrubbed_and_lookalikes_stay() -> None:
    lookalikes = dict(list(LOOKALIKES.items())[:12])  # a span keeps a bounded number of keys
    payload = span(data={"token": "hunter2", "note": SECRETS["stripe-key"], **lookalikes})
    data = stored_data(envelope(payload, None))
    assert "hunter2" not in str(data) and SECRET_CORES["stripe-key"] not in str(data)
    assert {k: data[k] for k in lookalikes} == lookalikes


def test_turned_off_scrubbing_keeps_span_data() -> None:
    payload = span(data={"note": SECRETS["stripe-key"]})
    data = stored_data(envelope(payload, None), ScrubConfig(enabled=False))
    assert data["note"] == SECRETS["stripe-key"]

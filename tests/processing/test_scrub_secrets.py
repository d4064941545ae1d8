"""Credentials found by their value: the shared table alone, then the server's scrubber with
each credential under a harmless key in every part of an event, and the look-alikes that must
survive both."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from tests.privacy.corpus import LOOKALIKES, SECRET_CORES, SECRETS, event_carrying

from vedette.processing.normalize import NormalizeContext, normalize_event
from vedette.processing.scrub import FILTERED, ScrubConfig, scrub_event
from vedette.shared.secret_patterns import SECRET_FORMATS, may_hold_secret, redact_secrets

FORMAT_NAMES = {f.name for f in SECRET_FORMATS}


VARIANTS = {"stripe-restricted-key": "stripe-key", "github-fine-grained-token": "github-token"}


def format_of(corpus_name: str) -> str:
    return VARIANTS.get(corpus_name, corpus_name)


def test_the_corpus_covers_every_format() -> None:
    assert {format_of(name) for name in SECRETS} == FORMAT_NAMES


@pytest.mark.parametrize(("name", "secret"), SECRETS.items(), ids=list(SECRETS))
def test_each_format_is_found_inside_text(name: str, secret: str) -> None:
    text = f"retrying with {secret} now"
    redacted, rules = redact_secrets(text)
    assert SECRET_CORES[name] not in redacted
    assert FILTERED in redacted
    assert rules == (f"@{format_of(name)}:filter",)
    assert redacted.startswith("retrying with ") and may_hold_secret(text)
    assert redact_secrets(redacted) == (redacted, ())  # a redaction is never redacted again


@pytest.mark.parametrize(("name", "value"), LOOKALIKES.items(), ids=list(LOOKALIKES))
def test_lookalikes_stay(name: str, value: str) -> None:
    assert redact_secrets(value) == (value, ())
    assert redact_secrets(f"value: {value}; next") == (f"value: {value}; next", ())


def test_what_is_kept_around_a_secret() -> None:
    webhook, _ = redact_secrets(SECRETS["slack-webhook"])
    assert webhook == f"https://hooks.slack.com/services/{FILTERED}"
    url, _ = redact_secrets(SECRETS["url-password"])
    assert url == f"postgresql://app:{FILTERED}@db.internal:5432/shop"
    pem, _ = redact_secrets(SECRETS["private-key"])
    assert pem == f"-----BEGIN RSA PRIVATE KEY-----{FILTERED}-----END RSA PRIVATE KEY-----"
    cut, _ = redact_secrets("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B")
    assert cut == f"-----BEGIN PRIVATE KEY-----{FILTERED}"  # its END line was trimmed away


def scrubbed(payload: dict[str, Any], *, quick: bool = True) -> dict[str, Any]:
    ctx = NormalizeContext(received=1_795_885_544.0, event_id="a" * 32)
    event = normalize_event(copy.deepcopy(payload), ctx)
    return dict(scrub_event(event, ScrubConfig(), quick=quick))


@pytest.mark.parametrize("quick", [True, False], ids=["pre-scan", "full-walk"])
def test_the_server_stores_no_credential_anywhere(quick: bool) -> None:
    event = scrubbed(event_carrying(SECRETS), quick=quick)
    body = orjson.dumps({k: v for k, v in event.items() if k != "_meta"}).decode()
    for name, core in SECRET_CORES.items():
        assert orjson.dumps(core).decode()[1:-1] not in body, name
    remarks = orjson.dumps(event["_meta"]).decode()
    for name in FORMAT_NAMES - {"url-password", "private-key", "connection-string-password"}:
        assert f"@{name}:filter" in remarks, name  # those three keep their older rule names
    value_meta = event["_meta"]["exception"]["values"]["0"]["value"][""]
    assert {rule for rule, _ in value_meta["rem"]} >= {"@stripe-key:filter", "@jwt:filter"}


@pytest.mark.parametrize("quick", [True, False], ids=["pre-scan", "full-walk"])
def test_the_server_keeps_every_lookalike(quick: bool) -> None:
    event = scrubbed(event_carrying(LOOKALIKES), quick=quick)
    body = orjson.dumps(event).decode()
    for name, value in LOOKALIKES.items():
        assert orjson.dumps(value).decode()[1:-1] in body, name
    assert "_meta" not in event

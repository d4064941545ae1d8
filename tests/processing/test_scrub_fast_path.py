"""Scrubbing's fast path (skip containers whose JSON text shows nothing to scrub) changes
nothing: every event comes out exactly as the walk of every node leaves it, ``_meta`` included.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vedette.domain.envelope import parse_envelope
from vedette.domain.events import NormalizedEvent
from vedette.processing.normalize import NormalizeContext, normalize_event
from vedette.processing.scrub import ScrubConfig, scrub_event

T0 = 1_795_885_543.0  # the corpora's capture time

# Strings that trip every rule (and near misses), mixed with ordinary and non-ASCII text.
SECRETS = [
    "4111 1111 1111 1111", "4111111111111111", "4222-2222-22222", "DE89 3704 0044 0532 0130 00",
    "078-05-1120", "Bearer abcDEF123456", "basic dXNlcjpwYXNz", "postgres://app:hunter2@db/x",
    "password=hunter2", "/home/alice/app.py", "C:\\Users\\bob\\x",
    "-----BEGIN RSA PRIVATE KEY-----abc-----END RSA KEY-----", "a@example.com", "10.0.0.1",
    "fe80::1:2", "session_id=abc", "Users", "tokenize me", "12345", "2026-11-29",
    "ünïcødé token=x", "K\u212aY", "x" * 40,
]  # fmt: skip
KEYS = [
    "password", "PassWord", "api_key", "apiKey", "auth", "author", "otp", "OTP", "two_factor",
    "phpsessid", "connect.sid", "symfony", "sentrysid", "_vercel_jwt", "cookie", "csrf",
    "tokens", "usage", "count", "name", "sku", "qty", "value", "mysql_pwd", "\u212aey", "kéy",
]  # fmt: skip

leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.sampled_from([4111111111111111, 4222222222222, 1234567890123])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(SECRETS)
    | st.text(max_size=20)
)
keys = st.sampled_from(KEYS) | st.text(max_size=8)
values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(keys, children, max_size=4)
        | st.lists(st.tuples(keys, children).map(list), min_size=1, max_size=3)  # pair lists
    ),
    max_leaves=25,
)
frames = st.lists(
    st.fixed_dictionaries(
        {"function": st.sampled_from(["handle", "login"]), "abs_path": st.sampled_from(SECRETS)},
        optional={"vars": st.dictionaries(keys, values, max_size=4),
                  "pre_context": st.lists(st.sampled_from(SECRETS) | st.text(max_size=10),
                                          max_size=3)},
    ),
    max_size=4,
)  # fmt: skip
events = st.fixed_dictionaries(
    {},
    optional={
        "extra": st.dictionaries(keys, values, max_size=4),
        "breadcrumbs": st.fixed_dictionaries({"values": st.lists(values, max_size=3)}),
        "exception": st.fixed_dictionaries(
            {"values": st.lists(st.fixed_dictionaries({"stacktrace": st.fixed_dictionaries(
                {"frames": frames})}), max_size=2)}
        ),
        "contexts": st.dictionaries(keys, st.dictionaries(keys, values, max_size=3), max_size=3),
        "request": st.fixed_dictionaries({}, optional={"data": values, "headers": values,
                                                       "cookies": values}),
        "logentry": st.fixed_dictionaries({}, optional={"formatted": st.sampled_from(SECRETS)}),
        "spans": st.lists(st.dictionaries(keys, values, max_size=3), max_size=2),
        "user": st.dictionaries(keys, values, max_size=3),
    },
)  # fmt: skip
configs = st.builds(
    ScrubConfig,
    extra_sensitive_keys=st.lists(st.sampled_from(["sku", "Name", "qty", "kéy"]), max_size=2).map(
        tuple
    ),
    safe_keys=st.lists(st.sampled_from(["password", "auth", "name"]), max_size=2).map(tuple),
)


@settings(max_examples=400, deadline=None)
@given(events, configs)
def test_fast_path_agrees_with_the_walk(event: dict[str, Any], config: ScrubConfig) -> None:
    walked = scrub_event(copy.deepcopy(event), config, quick=False)
    assert scrub_event(copy.deepcopy(event), config) == walked


def test_a_clean_frame_is_kept_and_a_dirty_one_scrubbed() -> None:
    clean = {"function": "f", "vars": {"rows": [{"sku": "SKU-1", "qty": 2}], "n": "12"}}
    dirty = {"function": "g", "vars": {"db": "postgres://app:hunter2@db/x"}}
    event = {"exception": {"values": [{"stacktrace": {"frames": [clean, dirty]}}]}}
    frames = scrub_event(event, ScrubConfig())["exception"]["values"][0]["stacktrace"]["frames"]
    assert frames[0] == clean
    assert frames[1]["vars"]["db"] == "postgres://app:[Filtered]@db/x"


CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
CORPUS_CONFIGS = {
    "defaults": ScrubConfig(),
    "extra and safe keys": ScrubConfig(
        extra_sensitive_keys=("sku", "Name"), safe_keys=("password", "auth", "url")
    ),
    "additional fields only": ScrubConfig(defaults=False, extra_sensitive_keys=("order",)),
}


def corpus_events() -> list[Any]:
    """Every event and transaction of the corpora (SDK captures, wire captures, Sentry's
    samples), normalised as the worker does."""
    payloads: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(CORPORA.glob("**/*.envelope")):
        for index, item in enumerate(parse_envelope(path.read_bytes()).items):
            if item.type in ("event", "transaction"):
                payload = orjson.loads(item.payload)
                if item.type == "transaction":
                    payload = {**payload, "type": "transaction"}
                payloads.append((f"{path.relative_to(CORPORA)}:{index}", payload))
    for path in sorted((CORPORA / "sentry-samples").glob("*.json")):
        try:
            payload = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue  # ruby.json, invalid-interfaces.json: not JSON, never normalised
        if path.name != "manifest.json":
            payloads.append((path.name, payload))
    assert len(payloads) >= 60
    context = NormalizeContext(received=T0)
    return [pytest.param(normalize_event(p, context), id=name) for name, p in payloads]


@pytest.mark.parametrize("config", CORPUS_CONFIGS.values(), ids=CORPUS_CONFIGS.keys())
@pytest.mark.parametrize("event", corpus_events())
def test_real_events_agree_with_the_walk(event: NormalizedEvent, config: ScrubConfig) -> None:
    """The SDKs' own events (secrets in frame locals, headers, cookies, breadcrumbs): the
    fast path leaves exactly what the walk of every node leaves, ``_meta`` included."""
    walked = scrub_event(copy.deepcopy(event), config, quick=False)
    assert scrub_event(copy.deepcopy(event), config) == walked

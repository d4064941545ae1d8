"""Property-based: the envelope parser never fails in an unplanned way, whatever the bytes."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from vedette.domain.envelope import (
    EnvelopeError,
    ItemTooLarge,
    is_json_object,
    item_is_valid,
    parse_envelope,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(data: bytes) -> None:
    try:
        envelope = parse_envelope(data, lambda _t: 1024)
    except (EnvelopeError, ItemTooLarge):
        return
    for item in envelope.items:
        assert len(item.payload) <= 1024
        item_is_valid(item)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    st.lists(
        st.tuples(
            st.sampled_from(["event", "transaction", "attachment", "session", "x"]),
            st.binary(max_size=200),
            st.booleans(),
        ),
        max_size=5,
    ),
)
def test_well_framed_envelopes_round_trip(
    header: dict[str, object], items: list[tuple[str, bytes, bool]]
) -> None:
    """Items with a length header carry any bytes (newlines included) exactly."""
    parts = [orjson.dumps(header)]
    for item_type, payload, _ in items:
        parts.append(orjson.dumps({"type": item_type, "length": len(payload)}))
        parts.append(payload)
    envelope = parse_envelope(b"\n".join(parts) + b"\n")
    assert [(i.type, i.payload) for i in envelope.items] == [(t, p) for t, p, _ in items]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=300))
def test_truncation_never_escapes(data: bytes) -> None:
    body = b'{}\n{"type":"attachment","length":300}\n' + data
    try:
        parse_envelope(body)
    except EnvelopeError:
        return
    assert len(data) >= 300


@settings(max_examples=400, deadline=None)
@given(json_values | st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_object_check_agrees_with_orjson_on_json(value: object) -> None:
    """Ingest's syntax-only check answers as a full parse would for every JSON value."""
    assert is_json_object(orjson.dumps(value)) == isinstance(value, dict)


def _orjson_object(data: bytes) -> bool:
    try:
        return isinstance(orjson.loads(data), dict)
    except orjson.JSONDecodeError:
        return False


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=64).map(lambda tail: b'{"a":' + tail) | st.binary(max_size=64))
def test_object_check_never_refuses_what_orjson_accepts(data: bytes) -> None:
    """It may accept a little more (the worker's parse then marks the item invalid), never less:
    refusing a payload the worker could read would lose an event at ingest."""
    if _orjson_object(data):
        assert is_json_object(data)

"""The envelope parser against the protocol's grammar (docs/protocol.md, "Envelopes") and real
captures."""

from __future__ import annotations

from pathlib import Path

import pytest

from vedette.domain.envelope import (
    EnvelopeError,
    ItemTooLarge,
    is_json_object,
    normalize_event_id,
    parse_envelope,
)

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"


@pytest.mark.parametrize(
    "path",
    sorted((CORPORA / "sdk-python").glob("*.envelope"))
    + sorted((CORPORA / "sdk-node").glob("*.envelope")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_real_sdk_envelope_parses(path: Path) -> None:
    envelope = parse_envelope(path.read_bytes())
    assert envelope.items, "every captured envelope carries at least one item"
    for item in envelope.items:
        length = item.headers.get("length")
        if length is not None:
            assert len(item.payload) == length


BINARY = b"\x00\x0a\xff\x0a"

VALID = [
    ("headers only", b"{}", 0),
    ("headers only with newline", b"{}\n", 0),
    ("length-less item without final newline", b'{}\n{"type":"event"}\n{"a":1}', 1),
    ("length-less item with final newline", b'{}\n{"type":"event"}\n{"a":1}\n', 1),
    (
        "binary attachment with newlines inside",
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n'
        b'{"type":"attachment","length":4,"filename":"x"}\n' + BINARY + b"\n",
        1,
    ),
    (
        "two length-less items",
        b'{}\n{"type":"session"}\n{"sid":"a"}\n{"type":"client_report"}\n{}',
        2,
    ),
    ("empty payload with length 0", b'{}\n{"type":"attachment","length":0}\n\n', 1),
    ("unknown item type kept", b'{}\n{"type":"future_thing"}\n{"x":1}\n', 1),
]


@pytest.mark.parametrize(("name", "data", "count"), VALID, ids=[v[0] for v in VALID])
def test_valid_envelopes(name: str, data: bytes, count: int) -> None:
    assert len(parse_envelope(data).items) == count


def test_binary_payload_is_exact() -> None:
    data = b'{}\n{"type":"attachment","length":4}\n' + BINARY + b"\n"
    assert parse_envelope(data).items[0].payload == BINARY


INVALID = [
    ("empty body", b""),
    ("header not JSON", b"not json\n"),
    ("header not an object", b"[1,2]\n"),
    ("item header not JSON", b'{}\n{"type":\n'),
    ("item without type", b'{}\n{"length":1}\nx\n'),
    ("length past the end", b'{}\n{"type":"event","length":100}\n{}\n'),
    ("junk after a length payload", b'{}\n{"type":"event","length":2}\n{}X\n'),
    ("negative length", b'{}\n{"type":"event","length":-1}\n{}\n'),
    ("string length", b'{}\n{"type":"event","length":"2"}\n{}\n'),
]


@pytest.mark.parametrize(("name", "data"), INVALID, ids=[v[0] for v in INVALID])
def test_invalid_envelopes(name: str, data: bytes) -> None:
    with pytest.raises(EnvelopeError):
        parse_envelope(data)


def test_item_over_its_limit() -> None:
    data = b'{}\n{"type":"event","length":10}\n' + b"x" * 10 + b"\n"
    with pytest.raises(ItemTooLarge):
        parse_envelope(data, lambda _t: 9)
    assert parse_envelope(data, lambda _t: 10).items[0].payload == b"x" * 10


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9EC79C33EC9942AB8353589FCB2E04DC", "9ec79c33ec9942ab8353589fcb2e04dc"),
        ("9ec79c33-ec99-42ab-8353-589fcb2e04dc", "9ec79c33ec9942ab8353589fcb2e04dc"),
        ("not-hex-not-hex-not-hex-not-hex!", None),
        ("abc", None),
        (42, None),
        (None, None),
    ],
)
def test_event_ids(raw: object, expected: str | None) -> None:
    assert normalize_event_id(raw) == expected


def _nested(depth: int) -> bytes:
    return b'{"a":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"message": "hello", "extra": {"a": [1, 2.5, null, true]}}', True),
        (b' {"a": 1}\n', True),
        (b"{}", True),
        (b'{"a": 123456789012345678901234567890}', True),  # big ints: orjson reads them too
        (_nested(1000), True),  # deeper than msgspec nests: orjson decides
        (b'{"message": nope}', False),
        (b'{"a": {"b": [1, {"c": tru}]}}', False),  # an error deep inside is still found
        (b'{"a": 1', False),
        (b'{"a": 1} trailing', False),
        (b'{"a": NaN}', False),
        (b'{"a": "caf\xc3\xa9"}', True),
        (b'{"a": "\xff\xfe"}', False),  # invalid UTF-8 inside a string
        (b'{"a": "\xed\xa0\x80"}', False),  # an encoded lone surrogate
        (b"[1, 2]", False),
        (b'"text"', False),
        (b"", False),
        (_nested(1100), False),
    ],
)
def test_json_object_check(payload: bytes, expected: bool) -> None:
    assert is_json_object(payload) is expected

"""Lenient coercions of untrusted fields (processing.coerce)."""

from __future__ import annotations

import re
from collections import OrderedDict
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vedette.processing.coerce import field_str, hex_id, int64, is_mapping, lenient_str
from vedette.processing.trim import Notes, trim_str

HEX_CASES: list[tuple[str, object, int, str | None]] = [
    ("trace id", "4bf92f3577b34da6a3ce929d0e0e4736", 32, "4bf92f3577b34da6a3ce929d0e0e4736"),
    ("upper case and dashes", "4BF92F35-77B3-4DA6-A3CE-929D0E0E4736", 32,
     "4bf92f3577b34da6a3ce929d0e0e4736"),
    ("surrounding spaces", " 00f067aa0ba902b7\n", 16, "00f067aa0ba902b7"),
    ("too short", "00f067aa0ba902b", 16, None),
    ("not hex", "00f067aa0ba902bz", 16, None),
    ("a prefix", "0x0f067aa0ba902b", 16, None),
    ("digits of another script", "\u0661" * 16, 16, None),
    ("inner space", "00f067aa 0ba902b", 16, None),
    ("nothing", "", 0, None),
    ("not a string", 1234, 4, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "length", "expected"), [c[1:] for c in HEX_CASES], ids=[c[0] for c in HEX_CASES]
)
def test_hex_id(value: object, length: int, expected: str | None) -> None:
    assert hex_id(value, length) == expected


def hex_id_by_pattern(value: object, length: int) -> str | None:
    """The definition: lower-cased, dashes dropped, exactly ``length`` of ``[0-9a-f]``."""
    if not isinstance(value, str):
        return None
    candidate = value.strip().replace("-", "").lower()
    if len(candidate) != length or not re.fullmatch(r"[0-9a-f]+", candidate):
        return None
    return candidate


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet="0123456789abcdefABCDEFxX-_ +\t\n\u0661\u0130", max_size=20),
    st.integers(0, 20) | st.none(),
)
def test_hex_id_agrees_with_its_pattern(value: str, length: int | None) -> None:
    """Half the time at the length the text has, so that many are ids."""
    if length is None:
        length = len(value.strip().replace("-", "").lower())
    assert hex_id(value, length) == hex_id_by_pattern(value, length)


def field_str_step_by_step(value: object, limit: int, notes: Notes, *, strip: bool) -> str | None:
    """field_str without its shortcut for plain short text: coerce, clean, strip, cut."""
    if value is None:
        return None
    text = lenient_str(value)
    if text is None:
        notes.error("invalid_data", "f", value, reason="expected a string")
        return None
    if strip:
        text = text.strip()
    if not text:
        return None
    return trim_str(text, limit, ("f",), notes)


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet="ab \t\n\x00\u00e9\ud800", max_size=12) | st.integers() | st.none(),
    st.integers(0, 10),
    st.booleans(),
)
def test_field_str_is_its_steps(value: object, limit: int, strip: bool) -> None:
    fast, slow = Notes(), Notes()
    assert field_str(value, limit, ("f",), fast, strip=strip) == field_str_step_by_step(
        value, limit, slow, strip=strip
    )
    assert (fast.errors, fast.meta) == (slow.errors, slow.meta)


MAPPING_CASES: list[tuple[str, object, bool]] = [
    ("a parsed object", {"a": 1}, True),
    ("an empty object", {}, True),
    ("a dict subclass", OrderedDict(a=1), True),
    ("a read-only mapping", MappingProxyType({"a": 1}), True),
    ("null", None, False),
    ("an array", [["a", 1]], False),
    ("a string", "{}", False),
    ("a number", 0, False),
]


@pytest.mark.parametrize(
    ("value", "expected"), [c[1:] for c in MAPPING_CASES], ids=[c[0] for c in MAPPING_CASES]
)
def test_is_mapping_answers_as_the_mapping_abc(value: object, expected: bool) -> None:
    assert is_mapping(value) is expected


INT64_CASES: list[tuple[str, object, int | None]] = [
    ("an int", 42, 42),
    ("a decimal string", "-9223372036854775808", -(2**63)),
    ("the largest", str(2**63 - 1), 2**63 - 1),
    ("one past it", str(2**63), None),
    ("a huge int", 2**64 - 1, None),
    ("5,000 digits", "9" * 5000, None),
    ("a bool", True, None),
    ("a float", 1.0, None),
    ("hex", "0x10", None),
]


@pytest.mark.parametrize(
    ("value", "expected"), [c[1:] for c in INT64_CASES], ids=[c[0] for c in INT64_CASES]
)
def test_int64_takes_only_what_fits_in_64_bits(value: object, expected: int | None) -> None:
    assert int64(value) == expected

"""The scrubbing pre-scan skips common lookalikes and still finds what a rule would act on.

A container whose JSON text shows nothing to scrub is kept as it is (processing.scrub). Cheap
hits are confirmed before a walk: a run of 13 digits (a card number?), the case-sensitive
``SK`` (a Twilio key?), ``://`` (a URL's password?) and ``auth`` (a sensitive key, or
``auth...=value`` in text?); ``api`` is only looked for as ``api_key``, ``api-key`` and
``apikey``. The fraction of a float, ``SKU-1``, a plain link, ``api.example.com`` and
"authorisation failed" are no secrets; whatever the scan lets through must come out of the
full walk unchanged, and whatever a rule does change must be found.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vedette.processing.scrub import ScrubConfig, scrub_event
from vedette.processing.value_rules import SCAN_DECISIONS, scan_container
from vedette.shared.secret_patterns import SECRET_FORMATS

TWILIO = "SK" + "0123456789abcdef" * 2

CASES: list[tuple[str, Any, bool]] = [
    ("float with a long fraction", 0.5263157894736842, False),
    ("negative float", -1234.5678901234567, False),
    ("float in an exponent form", 1.2345678901234567e-05, False),
    ("SKU code", "SKU-1042", False),
    ("TASK in capitals", "TASK_ID=42", False),
    ("a point then a card", "v1.4111111111111111", False),
    ("card", "4111 1111 1111 1111", True),
    ("card with dashes", "4111-1111-1111-1111", True),
    ("card after a space after a fraction", "0.1 4111111111111111", True),
    ("card after an escaped control character", "\x014111111111111111", True),
    ("card after an escaped control character ending in a letter", "\x1f4111111111111111", True),
    ("card after a control character and digits", "\x0112 5555555555554444", True),
    ("thread id", "139740653022080", False),
    ("long id starting with a 9", 9007199254740993, False),
    ("Mastercard", "5555 5555 5555 4444", True),
    ("Amex as an integer", 378282246310005, True),
    ("card after a newline", "\n4111111111111111", True),
    ("card as a negative integer", -4111111111111111, True),
    ("card as an integer", 4111111111111111, True),
    ("Twilio key", TWILIO, True),
    ("Twilio key in text", f"key={TWILIO};", True),
    ("plain link", "https://api.example.com/v2/http/0?page=2#top", False),
    ("link with a port", "http://db.internal:5432/orders", False),
    ("link then an address later", "see https://example.com/x, mail a@b.c", False),
    ("URL with a password", "postgres://app:hunter2@db/x", True),
    ("URL with an escaped quote in the user", 'redis://a"b:pw@cache', True),
    ("URL with a control character in the password", "amqp://u:p\x01w@mq", True),
    ("api in a host name", "https://api.example.com", False),
    ("api in prose", "the public api is down", False),
    ("api_key in text", "api_key=abc", True),
    ("API-Key in text", "X-API-Key: 1234", True),
    ("apikey as an object key", {"apiKey": "x"}, True),
    ("authorisation in prose", "payment exceeds authorisation", False),
    ("author in prose", "written by the author: Jane", False),
    ("authority in prose", "the authority=unknown", False),
    ("auth as a mere value", "auth", False),
    ("auth as a later item of a list", ["x", "auth"], False),
    ("auth in an object key", {"author_id": 5}, True),
    ("auth in an object key after an escape", {'a"auth': 5}, True),
    ("auth in a pair's key", [["X-Auth", "1"]], True),
    ("authorization header in text", "Authorization: Bearer x", True),
    ("auth then = after a tab", "auth\t= x", True),
    ("auth then a quote then :", 'auth": x', True),
    ("auth then a control space then =", "auth\x1f=x", True),
    ("auth then four spaces", "auth    =x", False),
    ("auth_token in text", "x auth_token=abc", True),
]


@pytest.mark.parametrize(("value", "flagged"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_scan_flags_exactly_what_it_should(value: Any, flagged: bool) -> None:
    scan = scan_container(orjson.dumps({"value": value, "other": 1.5}), ())
    assert scan.needs_walk is flagged


@pytest.mark.parametrize("value", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_the_fast_path_agrees_with_the_walk(value: Any) -> None:
    event = {"extra": {"vars": {"value": value, "nested": [{"value": value}]}}}
    quick = scrub_event(copy.deepcopy(event), ScrubConfig())
    walked = scrub_event(copy.deepcopy(event), ScrubConfig(), quick=False)
    assert quick == walked


def test_the_twilio_confirmation_mirrors_the_only_format_hinted_by_sk() -> None:
    hinted = [f for f in SECRET_FORMATS if "SK" in f.hints]
    assert [f.name for f in hinted] == ["twilio-key"]
    assert hinted[0].pattern.pattern == r"(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])"


FRAGMENTS = [
    "auth", "AUTH", "or", "iz", "api", "_key", "-key", "key", "=", ":", "://", "@", "/", "?",
    '"', "'", "\\", " ", "\t", "\n", "\x0b", "\x1c", "\x01", "x", "Bearer ", "[", "{",
]  # fmt: skip
texts = st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts, texts)
def test_near_misses_agree_with_the_walk(key: str, value: str) -> None:
    """Around the confirmed words: the fast path leaves exactly what the walk leaves, as an
    object's key, a pair's key, a value in a list and a value of an object."""
    SCAN_DECISIONS.clear()
    event = {"extra": {"vars": {key: value, "pairs": [[key, value]], "list": [value, key]}}}
    quick = scrub_event(copy.deepcopy(event), ScrubConfig())
    walked = scrub_event(copy.deepcopy(event), ScrubConfig(), quick=False)
    assert quick == walked


def nested(levels: int, leaf: Any) -> Any:
    value: Any = [leaf]
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize("levels", [60, 61, 62, 63, 64, 65, 70])
@pytest.mark.parametrize("leaf", ["plain", [], {}])
def test_the_depth_limit_holds_on_the_fast_path(levels: int, leaf: Any) -> None:
    """Past the brackets' bound the scan counts levels: a value as deep as the limit is cut
    as the walk cuts it, in a bag, a context and the tags."""
    deep = nested(levels, leaf)
    event = {
        "extra": {"deep": deep},
        "contexts": {"app": {"deep": deep}},
        "tags": [["k", "v"]] * 70 + [["deep", deep]],
    }
    quick = scrub_event(copy.deepcopy(event), ScrubConfig())
    walked = scrub_event(copy.deepcopy(event), ScrubConfig(), quick=False)
    assert quick == walked


@pytest.mark.parametrize(
    ("value", "levels"),
    [
        ([[1]], 2),  # few brackets: their count
        ([["k", "v"]] * 70, 2),  # many: the levels counted
        ([[]] * 70, 1),  # empty lists add no level (the check leaves room for one)
        (nested(63, "x"), 63),
        (nested(65, "x"), 65),
        (nested(200, "x"), 65),  # counted no further than the limit + 1
    ],
)
def test_the_scan_bounds_the_levels(value: Any, levels: int) -> None:
    scan = scan_container(orjson.dumps(value), ())
    assert (scan.needs_walk, scan.levels) == (False, levels)

"""The scrubbing pre-scan skips common lookalikes and still finds what a rule would act on.

A container whose JSON text shows nothing to scrub is kept as it is (processing.scrub). Two
cheap hits are confirmed before a walk: a run of 13 digits (a card number?) and the
case-sensitive ``SK`` (a Twilio key?). The fraction of a float and ``SKU-1`` are no secrets;
whatever the scan lets through must come out of the full walk unchanged, and whatever a rule
does change must be found.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from vedette.processing.scrub import ScrubConfig, scrub_event
from vedette.processing.value_rules import may_need_scrubbing
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
    ("card after a newline", "\n4111111111111111", True),
    ("card as a negative integer", -4111111111111111, True),
    ("card as an integer", 4111111111111111, True),
    ("Twilio key", TWILIO, True),
    ("Twilio key in text", f"key={TWILIO};", True),
]


@pytest.mark.parametrize(("value", "flagged"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_scan_flags_exactly_what_it_should(value: Any, flagged: bool) -> None:
    assert may_need_scrubbing(orjson.dumps({"value": value, "other": 1.5}), ()) is flagged


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

"""Advanced data scrubbing (relayPiiConfig) as a pure function: tables of rules, selectors and
events, and what Sentry documents each does to the stored event and its ``_meta``."""

from __future__ import annotations

import copy
import hashlib
import hmac
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vedette.processing.pii_config import PiiConfigError, parse_pii_config
from vedette.processing.pii_selectors import Node, SelectorError, parse_selector
from vedette.processing.scrub import ScrubConfig, scrub_event

EVENT: dict[str, Any] = {
    "event_id": "c" * 32,
    "message": "paid from 10.1.2.3 by ada@example.com",
    "extra": {"order_note": "leave at door ORD-77", "keep": "ORD-88", "nested": {"n": "ORD-99"}},
    "exception": {"values": [{"type": "E", "value": "card 4242 4242 4242 4242", "stacktrace": {
        "frames": [{"function": "f", "vars": {"card": "4242424242424242", "who": "bob"}}]}}]},
    "request": {"headers": [["X-Custom", "tenant-1"], ["X-Other", "tenant-2"]]},
    "user": {"id": "u1", "email": "ada@example.com"},
}  # fmt: skip


def scrubbed(rules: dict[str, Any], *, defaults: bool = False) -> dict[str, Any]:
    """The event after only the advanced rules (the default scrubber off, to see them alone)."""
    advanced = (parse_pii_config(orjson.dumps(rules).decode()),)
    config = ScrubConfig(enabled=defaults, defaults=defaults, advanced=advanced)
    return dict(scrub_event(copy.deepcopy(EVENT), config))  # type: ignore[arg-type]


def remarks(event: dict[str, Any], *path: str | int) -> list[list[Any]]:
    node = event["_meta"]
    for segment in path:
        node = node[str(segment)]
    return node[""]["rem"]  # type: ignore[no-any-return]


CASES = [
    # (applications, rules, path to the value, stored value, remark)
    ({"$string": ["@ip:replace"]}, {}, ("message",), "paid from [ip] by ada@example.com",
     ["@ip:replace", "s"]),
    ({"$string": ["@ip"]}, {}, ("message",), "paid from [ip] by ada@example.com", ["@ip", "s"]),
    ({"$string": ["@email:mask"]}, {}, ("user", "email"), "*" * 15, ["@email:mask", "m"]),
    ({"$string": ["@email:replace"]}, {}, ("message",), "paid from 10.1.2.3 by [email]",
     ["@email:replace", "s"]),
    ({"$frame.vars": ["@creditcard:mask"]}, {}, ("exception", "values", 0, "stacktrace",
     "frames", 0, "vars", "card"), "************4242", ["@creditcard:mask", "m"]),
    ({"$error.value": ["@creditcard:replace"]}, {}, ("exception", "values", 0, "value"),
     "card [creditcard]", ["@creditcard:replace", "s"]),
    ({"extra.order_note": ["@anything:remove"]}, {}, ("extra", "order_note"), None,
     ["@anything:remove", "x"]),
    ({"extra.**": ["order"]}, {"order": {"type": "pattern", "pattern": r"ORD-\d+",
     "redaction": {"method": "replace", "text": "[order]"}}}, ("extra", "nested", "n"),
     "[order]", ["order", "s"]),
    ({"extra.** && !extra.keep": ["order"]}, {"order": {"type": "pattern", "pattern": r"ORD-\d+",
     "redaction": {"method": "replace", "text": "[order]"}}}, ("extra", "keep"), "ORD-88", None),
    ({"$string": ["digits"]}, {"digits": {"type": "pattern", "pattern": r"ORD-(\d+)",
     "replaceGroups": [1], "redaction": {"method": "mask"}}}, ("extra", "keep"), "ORD-**",
     ["digits", "m"]),
    ({"$http.headers.x-custom": ["@anything:replace"]}, {}, ("request", "headers", 0, 1),
     "[Filtered]", ["@anything:replace", "s"]),
    ({"$http.headers.x-custom": ["@anything:replace"]}, {}, ("request", "headers", 1, 1),
     "tenant-2", None),
    ({"**": ["by-key"]}, {"by-key": {"type": "redact_pair", "keyPattern": "^who$",
     "redaction": {"method": "remove"}}}, ("exception", "values", 0, "stacktrace", "frames", 0,
     "vars", "who"), None, ["by-key", "x"]),
    ({"$string": ["both"]}, {"both": {"type": "multiple", "rules": ["@ip", "@email"]}},
     ("message",), "paid from [ip] by [email]", ["both", "s"]),
    ({"$string": ["quiet"]}, {"quiet": {"type": "alias", "rule": "@ip", "hide": True}},
     ("message",), "paid from [ip] by ada@example.com", ["@ip", "s"]),
]  # fmt: skip


@pytest.mark.parametrize(("applications", "rules", "path", "stored", "remark"), CASES)
def test_rules_change_what_is_stored(
    applications: dict[str, Any],
    rules: dict[str, Any],
    path: tuple[str | int, ...],
    stored: Any,
    remark: list[Any] | None,
) -> None:
    event = scrubbed({"rules": rules, "applications": applications})
    node: Any = event
    for segment in path:
        node = node[segment]
    assert node == stored
    if remark is None:
        assert "_meta" not in event or not _has_meta(event["_meta"], path)
    else:
        assert remark in remarks(event, *path)


def _has_meta(meta: dict[str, Any], path: tuple[str | int, ...]) -> bool:
    for segment in path:
        meta = meta.get(str(segment), {})
    return "" in meta


def test_hash_is_an_hmac_with_the_configured_key() -> None:
    event = scrubbed({"vars": {"hashKey": "k1"}, "applications": {"user.email": ["@email:hash"]}})
    expected = hmac.new(b"k1", b"ada@example.com", hashlib.sha1).hexdigest().upper()
    assert event["user"]["email"] == expected
    assert remarks(event, "user", "email") == [["@email:hash", "p"]]


def test_advanced_rules_apply_to_safe_fields_too() -> None:
    """Sentry: advanced rules take precedence over safe fields."""
    rules = parse_pii_config(orjson.dumps({"applications": {"extra.keep": ["@anything"]}}).decode())
    config = ScrubConfig(safe_keys=("keep",), advanced=(rules,))
    event = scrub_event(copy.deepcopy(EVENT), config)  # type: ignore[arg-type]
    assert event["extra"]["keep"] == "[Filtered]"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("not json", "not JSON"),
        ('{"applications": {"$string": ["nope"]}}', "no rule named 'nope'"),
        ('{"applications": {"$string": ["@ip:shred"]}}', "unknown method"),
        ('{"applications": {"$string": ["@zipcode"]}}', "unknown built-in"),
        ('{"applications": {"$nonsense": ["@ip"]}}', "unknown type"),
        ('{"applications": {"a &&": ["@ip"]}}', "ends too early"),
        ('{"rules": {"r": {"type": "pattern", "pattern": "("}}}', "not a valid regex"),
        ('{"rules": {"r": {"type": "pattern", "pattern": "x", "redaction": {}}}}', "method"),
        ('{"rules": {"r": {"type": "alias", "rule": "r"}}}', "refers to itself"),
        ('{"rules": {"r": {"type": "frobnicate"}}}', "unknown type"),
    ],
)
def test_bad_configs_are_refused_with_their_reason(config: str, message: str) -> None:
    with pytest.raises(PiiConfigError, match=message):
        parse_pii_config(config)


def path_of(*keys: str, types: dict[int, set[str]] | None = None) -> tuple[Node, ...]:
    return tuple(
        Node(key, frozenset((types or {}).get(index, set()))) for index, key in enumerate(keys)
    )


@pytest.mark.parametrize(
    ("selector", "path", "matches"),
    [
        ("extra.**", path_of("extra", "a", "b"), True),
        ("extra.**", path_of("contexts", "extra", "a"), False),  # anchored at the root
        ("extra.*", path_of("extra", "a", "b"), False),
        (
            "$frame.vars",
            path_of(
                "exception",
                "values",
                "0",
                "stacktrace",
                "frames",
                "3",
                "vars",
                types={5: {"$frame"}},
            ),
            True,
        ),
        ("$string", path_of("extra", "a", types={1: {"$string"}}), True),
        ("$string", path_of("extra", "a", types={1: {"$number"}}), False),
        ("'x.y'", path_of("x.y"), True),
        ("EXTRA.Foo", path_of("extra", "foo"), True),
        ("extra.foo || extra.bar", path_of("extra", "bar"), True),
        ("!extra.foo", path_of("extra", "bar"), True),
        ("(extra.** && !extra.foo)", path_of("extra", "foo"), False),
    ],
)
def test_selectors(selector: str, path: tuple[Node, ...], matches: bool) -> None:
    assert parse_selector(selector).matches(path) is matches


@pytest.mark.parametrize("selector", ["", "a..b", "$bogus", "a ||", "(a", "a)"])
def test_unreadable_selectors(selector: str) -> None:
    with pytest.raises(SelectorError):
        parse_selector(selector)


def test_a_repeated_event_is_scrubbed_the_same_from_what_was_remembered() -> None:
    """The second pass takes frames, parts and strings from the caches of the first."""
    rules = {
        "rules": {"order": {"type": "pattern", "pattern": r"ORD-\d+"}},
        "applications": {"$frame.vars": ["@creditcard:mask"], "extra.**": ["order"],
                         "$string": ["@email:replace"]},
    }  # fmt: skip
    first = scrubbed(rules)
    first["extra"]["nested"]["n"] = "changed after storing"  # a stored event is its own copy
    second = scrubbed(rules)
    assert second["extra"]["nested"]["n"] == "******"  # ORD-99 masked
    assert second["_meta"] == scrubbed(rules)["_meta"]
    assert second["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["card"] == (
        "************4242"
    )
    assert ["@email:replace", "s"] in remarks(second, "user", "email")


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)
PARTS = ["extra", "contexts", "request", "user", "exception", "breadcrumbs", "spans", "tags", "x"]
EVERY_KIND = parse_pii_config(orjson.dumps({
    "rules": {"p": {"type": "pattern", "pattern": "a+", "redaction": {"method": "hash"}},
              "k": {"type": "redact_pair", "keyPattern": "x", "redaction": {"method": "remove"}}},
    "applications": {"$string": ["p", "@ip", "@email:mask", "@creditcard:hash"], "**": ["k"],
                     "extra.**": ["@anything:replace"], "$frame.vars": ["@password:remove"]},
}).decode())  # fmt: skip


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(PARTS), ANY_JSON))
def test_advanced_rules_never_raise(payload: dict[str, Any]) -> None:
    config = ScrubConfig(advanced=(EVERY_KIND,))
    event = scrub_event(copy.deepcopy(payload), config)  # type: ignore[arg-type]
    orjson.dumps(event)

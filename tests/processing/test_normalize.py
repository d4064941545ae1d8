"""Event normalisation over real SDK traffic and Sentry's samples, plus a table of edge cases.

The corpora manifests are the spec for the real events (what a server should conclude from each
capture); the edge-case tables are the spec for the rules of docs/protocol.md, "Event
normalisation" and the sections it points to.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Required, get_origin, get_type_hints

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vedette.domain.envelope import parse_envelope
from vedette.domain.events import NormalizedEvent
from vedette.processing.messages import render_logentry
from vedette.processing.normalize import NormalizeContext, normalize_event, validate_transaction
from vedette.processing.tags import MAX_TAGS
from vedette.processing.timestamps import parse_timestamp

CORPORA = Path(__file__).parent.parent / "fixtures" / "corpora"
HEX32 = re.compile(r"[0-9a-f]{32}")
LEVELS = {"fatal", "error", "warning", "info", "debug"}
T0 = 1_795_885_534.0  # 2026-11-28T17:05:34Z, the corpora's capture time
ENVELOPE_ITEMS = ("event", "transaction")


# -- fixture loading -------------------------------------------------------------------------


def _manifest(sdk: str) -> dict[str, dict[str, Any]]:
    manifest = json.loads((CORPORA / sdk / "manifest.json").read_text())
    return {entry["file"]: entry for entry in manifest["files"]}


def _envelope_events() -> Iterator[Any]:
    for sdk in ("sdk-python", "sdk-node"):
        manifest = _manifest(sdk)
        for path in sorted((CORPORA / sdk).glob("*.envelope")):
            envelope = parse_envelope(path.read_bytes())
            for item in envelope.items:
                if item.type in ENVELOPE_ITEMS:
                    payload = orjson.loads(item.payload)
                    sent_at = parse_timestamp(envelope.headers.get("sent_at"))
                    assert sent_at is not None
                    ctx = NormalizeContext(
                        received=sent_at + 0.25,  # the server got it a moment after sending
                        event_id=envelope.event_id,
                        sent_at=sent_at,
                        client_ip="192.0.2.10",
                    )
                    entry = manifest.get(path.name, {})
                    yield pytest.param(payload, ctx, entry, id=f"{sdk}/{path.name}")


def _sample_events() -> Iterator[Any]:
    for path in sorted((CORPORA / "sentry-samples").glob("*.json")):
        if path.name == "manifest.json":
            continue
        try:
            payload = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # ruby.json / invalid-interfaces.json: the decode step's problem
        yield pytest.param(payload, id=path.name)


ENVELOPE_EVENTS = list(_envelope_events())
SAMPLE_EVENTS = list(_sample_events())


def _normalized_event_keys() -> tuple[set[str], set[str]]:
    """The keys NormalizedEvent requires, and all it declares (its ``__required_keys__`` are
    empty under ``from __future__ import annotations``, so the hints are read instead)."""
    hints = get_type_hints(NormalizedEvent, include_extras=True)
    return {key for key, hint in hints.items() if get_origin(hint) is Required}, set(hints)


REQUIRED_KEYS, DECLARED_KEYS = _normalized_event_keys()


def tag_dict(event: Mapping[str, Any]) -> dict[str, str]:
    return dict(event["tags"])


def assert_invariants(event: dict[str, Any]) -> None:
    """What every normalised event guarantees, whatever came in."""
    assert REQUIRED_KEYS <= set(event) <= DECLARED_KEYS, "the keys NormalizedEvent declares"
    assert HEX32.fullmatch(event["event_id"])
    assert isinstance(event["timestamp"], float)
    assert isinstance(event["received"], float)
    assert event["type"] in {"error", "default", "transaction", "csp", "hpkp", "expectct",
                             "expectstaple"}  # fmt: skip
    assert event["level"] in LEVELS
    assert isinstance(event["platform"], str) and event["platform"]
    tags = event["tags"]
    assert isinstance(tags, list)
    assert all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) and p for p in pair)
        for pair in tags
    )
    keys = [key for key, _ in tags]
    assert len(keys) == len(set(keys)), "tag keys are unique"
    assert all(len(key) <= 200 and len(value) <= 200 for key, value in tags)
    assert isinstance(event["breadcrumbs"]["values"], list)
    for crumb in event["breadcrumbs"]["values"]:
        assert crumb["level"] in LEVELS
        assert "timestamp" not in crumb or isinstance(crumb["timestamp"], float)
    for exc in event.get("exception", {}).get("values", [None])[:-1] or []:
        assert exc.get("type") or exc.get("value")
    assert isinstance(event["contexts"], dict)
    for alias, context in event["contexts"].items():
        assert isinstance(context.get("type"), str), alias
    assert "message" not in event, "message moves into logentry"
    if event["type"] == "transaction":
        assert isinstance(event.get("start_timestamp", 0.0), float)
        assert event["contexts"]["trace"]["status"]
    json.loads(orjson.dumps(event))  # JSON-serialisable, strictly


# -- real SDK traffic ------------------------------------------------------------------------


@pytest.mark.parametrize(("payload", "ctx", "entry"), ENVELOPE_EVENTS)
def test_sdk_event_normalises_to_what_the_manifest_says(
    payload: dict[str, Any], ctx: NormalizeContext, entry: dict[str, Any]
) -> None:
    event = normalize_event(payload, ctx)
    assert_invariants(event)
    assert event["event_id"] == ctx.event_id
    assert not [e for e in event.get("errors", []) if e["type"] != "invalid_attribute"], (
        "real SDK payloads normalise without processing errors"
    )
    assert event["platform"] == entry["platform"]
    assert event["release"] == entry["release"]
    assert event["environment"] == entry["environment"]
    if entry.get("level"):
        assert event["level"] == entry["level"]
    tags = tag_dict(event)
    for key, value in (entry.get("tags") or {}).items():
        assert tags[key] == value
    assert tags["release"] == entry["release"]
    assert tags["environment"] == entry["environment"]
    assert tags["level"] == event["level"]
    assert tags["server_name"] == event["server_name"]
    assert set(entry["contexts"]) <= set(event["contexts"])
    assert event["contexts"]["trace"]["trace_id"] == entry["trace_id"]
    if entry.get("user_id") is not None:
        assert event["user"]["id"] == str(entry["user_id"])
        assert tags["user"] == f"id:{entry['user_id']}"
    assert len(event["breadcrumbs"]["values"]) == (entry.get("breadcrumbs") or 0)
    if entry.get("message"):
        assert event["logentry"]["formatted"] == entry["message"]
    if entry.get("fingerprint"):
        assert event["fingerprint"] == entry["fingerprint"]
    expected_excs = entry.get("exceptions") or []
    excs = event.get("exception", {}).get("values", [])
    assert [(e.get("type"), e.get("value")) for e in excs] == [
        (e.get("type"), e["value"]) for e in expected_excs
    ]
    assert [len(e.get("stacktrace", {}).get("frames", [])) for e in excs] == [
        e["frames"] for e in expected_excs
    ]
    if expected_excs:
        last = expected_excs[-1]
        assert event["type"] == "error"
        assert tags["handled"] == ("yes" if last["handled"] else "no")
        assert tags["mechanism"] == last["mechanism"]
    if entry.get("transaction"):
        assert event["transaction"] == entry["transaction"]
        assert tags["transaction"] == entry["transaction"]
    if entry.get("transaction_count"):
        assert event["type"] == "transaction"
        assert event["level"] == "info"
        assert validate_transaction(event) is None
        assert event["contexts"]["trace"]["status"] == (entry["status"] or "unknown")
        assert len(event["spans"]) == entry["span_count"]
        assert set(entry["span_ops"] or []) <= {span.get("op") for span in event["spans"]}
        assert event["start_timestamp"] <= event["timestamp"]


def test_scope_data_event_carries_user_tags_contexts_and_derived_tags() -> None:
    """error_with_scope_data: set_user / set_tag / set_context / add_breadcrumb all survive."""
    (param,) = [p for p in ENVELOPE_EVENTS if p.id == "sdk-python/error_with_scope_data.envelope"]
    payload, ctx, _ = param.values
    event = normalize_event(payload, ctx)
    assert event["user"] == {"id": "42", "email": "jane@example.com", "username": "jane"}
    assert event["contexts"]["order"] == {
        "id": 9001, "total_cents": 4999, "currency": "EUR", "items": 3, "type": "order",
    }  # fmt: skip
    assert event["tags"] == [
        ["tenant", "acme"],
        ["feature", "checkout"],
        ["plan", "pro"],
        ["level", "error"],
        ["environment", "corpora"],
        ["release", "corpora-shop@1.4.2"],
        ["user", "id:42"],
        ["handled", "yes"],
        ["mechanism", "generic"],
        ["runtime", "CPython 3.11.7"],
        ["runtime.name", "CPython"],
        ["server_name", "corpora-host"],
    ]
    crumbs = event["breadcrumbs"]["values"]
    assert [c["category"] for c in crumbs] == ["auth", "httpx", "ui.click"]
    assert crumbs[1]["level"] == "info"  # defaulted
    assert crumbs[0]["timestamp"] == pytest.approx(parse_timestamp("2026-11-28T17:05:34.279391Z"))
    assert event["extra"]["retry_count"] == 2


def test_node_scope_data_contexts_become_tags() -> None:
    (param,) = [p for p in ENVELOPE_EVENTS if p.id == "sdk-node/scope_data.2.envelope"]
    payload, ctx, _ = param.values
    event = normalize_event(payload, ctx)
    tags = tag_dict(event)
    assert tags["os.name"] == "Debian"
    assert tags["os"] == "Debian 12.11"  # the SDK's "12.11\n" is whitespace-normalised
    assert tags["runtime.name"] == "node"
    assert tags["user"] == "id:42"
    assert event["user"]["ip_address"] == "198.51.100.23"
    assert isinstance(event["timestamp"], float)
    assert all(isinstance(c["timestamp"], float) for c in event["breadcrumbs"]["values"])


def test_fastapi_request_is_split_and_headers_are_title_case() -> None:
    (param,) = [p for p in ENVELOPE_EVENTS if p.id == "sdk-python/pii_enabled.1.envelope"]
    payload, ctx, _ = param.values
    event = normalize_event(payload, ctx)
    request = event["request"]
    assert request["url"] == "http://testserver/checkout"
    assert request["query_string"] == [["coupon", "SPRING24"], ["token", "qs-secret-123"]]
    header_names = [name for name, _ in request["headers"]]
    assert "X-Api-Key" in header_names and "User-Agent" in header_names
    assert "Cookie" not in header_names, "the Cookie header moves into request.cookies"
    assert request["cookies"] == [
        ["sessionid", "[Filtered]"], ["csrftoken", "[Filtered]"], ["theme", "dark"],
    ]  # fmt: skip
    assert event["user"] == {"id": "1001", "ip_address": "203.0.113.7"}  # from env.REMOTE_ADDR
    assert tag_dict(event)["url"] == "http://testserver/checkout"
    assert event["contexts"]["client_os"] == {"type": "os", "name": "Linux"}
    # the SDK's own redaction notes are kept
    assert event["_meta"]["request"]["data"]["password"] == {"": {"rem": [["!config", "s"]]}}


def test_large_event_is_trimmed_with_meta() -> None:
    (param,) = [p for p in ENVELOPE_EVENTS if p.id == "sdk-python/large_event.envelope"]
    payload, ctx, _ = param.values
    assert len(orjson.dumps(payload)) > 200_000
    event = normalize_event(payload, ctx)
    assert len(orjson.dumps(event)) < 64_000
    frames_meta = event["_meta"]["exception"]["values"]["0"]["stacktrace"]["frames"]
    cut = frames_meta["1"]["vars"]["csv_export"][""]
    assert cut["len"] > 100_000
    frame_vars = event["exception"]["values"][0]["stacktrace"]["frames"][1]["vars"]
    assert frame_vars["csv_export"].endswith("...")


@pytest.mark.parametrize("payload", SAMPLE_EVENTS)
def test_sentry_sample_normalises(payload: dict[str, Any]) -> None:
    event = normalize_event(payload, NormalizeContext(received=T0))
    assert_invariants(event)
    for key in event:
        assert not key.startswith("sentry.interfaces."), "legacy keys are renamed"
    if event["type"] == "transaction":
        validate_transaction(event)  # may find problems, must not raise


def test_legacy_interfaces_are_renamed() -> None:
    (param,) = [p for p in SAMPLE_EVENTS if p.id == "java.json"]
    event = normalize_event(param.values[0], NormalizeContext(received=T0))
    assert event["exception"]["values"][0]["type"]
    assert event["logentry"]["formatted"] == "Authentication failed, token expired!"
    assert event["user"]["email"] == "user@sentry.io"
    assert event["user"]["data"] == {"account_level": "premium"}
    assert event["request"]["url"] == "http://localhost:8080/"
    assert event["request"]["query_string"] == [["logged_in", "1"]]
    assert event["request"]["data"] == {"logged_in": ["1"]}, "a JSON string body is parsed"
    assert len(event["breadcrumbs"]["values"]) > 0
    assert tag_dict(event)["user"] == "email:user@sentry.io"
    # user tags given as pairs win over the derived ones
    assert tag_dict(event)["server_name"] == "web1.example.com"


def test_invalid_interfaces_sample_survives_after_repair() -> None:
    """Sentry's garbage sample (minus the missing comma that makes it invalid JSON)."""
    text = (CORPORA / "sentry-samples" / "invalid-interfaces.json").read_text()
    payload = json.loads(text.replace('"method": "unknown"\n', '"method": "unknown",\n'))
    event = normalize_event(payload, NormalizeContext(received=T0))
    assert_invariants(event)
    assert event["request"]["query_string"] == [["foo", "bar"], ["bam", ""]]
    assert event["sdk"] == {"name": "sentry.python", "version": "0.1"}
    assert "logentry" not in event  # params without a message render nothing
    assert any(e["type"] == "missing_attribute" for e in event["errors"])


# -- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1772446504.512, 1772446504.512),
        (1772446504, 1772446504.0),
        ("1772446504.5", 1772446504.5),
        ("2026-03-02T10:15:04.512734Z", 1772446504.512734),
        ("2026-03-02T10:15:04.512734", 1772446504.512734),  # no zone means UTC
        ("2026-03-02T10:15:04.512734+00:00", 1772446504.512734),
        ("2026-03-02T12:15:04.512734+02:00", 1772446504.512734),
        ("2026-03-02T10:15:04Z", 1772446504.0),
        ("2026-03-02T10:15:04.5127341234Z", 1772446504.512734),  # nanoseconds truncated
        ("2026-03-02T10:15:04.9999999Z", 1772446504.999999),  # truncated, not rounded
        ("2026-03-02T10:15:04.1234567+01:00", 1772442904.123456),
        ("1e3", 1000.0),
        ("+.5", 0.5),
        ("10:15", None),
        ("2026-03-02 10:15:04Z", 1772446504.0),
        ("  2026-03-02T10:15:04Z ", 1772446504.0),
        ("yesterday", None),
        ("2026-13-02T10:15:04Z", None),
        ("", None),
        (None, None),
        (True, None),
        (float("nan"), None),
        (float("inf"), None),
        (-5, None),
        (1e20, None),
        ([1772446504], None),
        ({"seconds": 1}, None),
    ],
)
def test_parse_timestamp(value: object, expected: float | None) -> None:
    result = parse_timestamp(value)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected, abs=1e-6)


def _ctx(**kwargs: Any) -> NormalizeContext:
    return NormalizeContext(received=kwargs.pop("received", T0), **kwargs)


def test_timestamps_accept_float_and_iso_everywhere() -> None:
    event = normalize_event(
        {
            "type": "transaction",
            "timestamp": "2026-11-28T17:05:34Z",
            "start_timestamp": T0 - 2,
            "contexts": {"trace": {"trace_id": "a" * 32, "span_id": "b" * 16}},
            "breadcrumbs": [{"timestamp": "2026-11-28T17:05:33.5Z"}, {"timestamp": T0 - 1}],
            "spans": [
                {
                    "trace_id": "a" * 32,
                    "span_id": "c" * 16,
                    "start_timestamp": T0 - 1.5,
                    "timestamp": "2026-11-28T17:05:33Z",
                }
            ],
        },
        _ctx(),
    )
    assert event["timestamp"] == T0
    assert event["start_timestamp"] == T0 - 2
    assert [c["timestamp"] for c in event["breadcrumbs"]["values"]] == [T0 - 0.5, T0 - 1]
    assert event["spans"][0]["timestamp"] == T0 - 1
    assert validate_transaction(event) is None


def test_missing_timestamp_is_the_receive_time() -> None:
    event = normalize_event({}, _ctx())
    assert event["timestamp"] == T0
    assert event["received"] == T0


def test_clock_drift_from_sent_at_shifts_every_timestamp() -> None:
    """Clock drift: the SDK's clock is two hours behind; sent_at reveals it."""
    skew = -7200.0
    event = normalize_event(
        {
            "timestamp": T0 + skew - 1,
            "breadcrumbs": {"values": [{"timestamp": T0 + skew - 3}]},
        },
        _ctx(sent_at=T0 + skew),
    )
    assert event["timestamp"] == pytest.approx(T0 - 1)
    assert event["breadcrumbs"]["values"][0]["timestamp"] == pytest.approx(T0 - 3)
    (error,) = event["errors"]
    assert error["type"] == "clock_drift"


def test_small_clock_drift_is_left_alone() -> None:
    event = normalize_event({"timestamp": T0 - 600}, _ctx(sent_at=T0 - 540))
    assert event["timestamp"] == T0 - 600
    assert "errors" not in event


@pytest.mark.parametrize(
    ("offset", "kind"),
    [(3600.0, "future_timestamp"), (-40 * 86400.0, "past_timestamp")],
)
def test_future_and_past_timestamps_are_clamped(offset: float, kind: str) -> None:
    event = normalize_event(
        {"timestamp": T0 + offset, "breadcrumbs": [{"timestamp": T0 + offset - 5}]}, _ctx()
    )
    assert event["timestamp"] == pytest.approx(T0)
    assert event["breadcrumbs"]["values"][0]["timestamp"] == pytest.approx(T0 - 5)
    assert [e["type"] for e in event["errors"]] == [kind]


def test_slightly_future_timestamp_is_kept() -> None:
    assert normalize_event({"timestamp": T0 + 30}, _ctx())["timestamp"] == T0 + 30


# -- the field table -------------------------------------------------------------------------

Check = Callable[[dict[str, Any]], object]

FIELD_CASES: list[tuple[str, dict[str, Any], Check]] = [
    # ids
    ("event_id dashes", {"event_id": "9A4C1E2F-0B3D-4A5E-8C7F-6A5B4C3D2E1F"},
     lambda e: e["event_id"] == "9a4c1e2f0b3d4a5e8c7f6a5b4c3d2e1f"),
    ("event_id garbage", {"event_id": "nope"},
     lambda e: HEX32.fullmatch(e["event_id"]) and e["errors"][0]["name"] == "event_id"),
    # levels
    ("level alias warn", {"level": "warn"}, lambda e: e["level"] == "warning"),
    ("level alias log", {"level": "log"}, lambda e: e["level"] == "info"),
    ("level alias critical", {"level": "CRITICAL"}, lambda e: e["level"] == "fatal"),
    ("level python 30", {"level": 30}, lambda e: e["level"] == "warning"),
    ("level python 50", {"level": 50}, lambda e: e["level"] == "fatal"),
    ("level python 10 str", {"level": "10"}, lambda e: e["level"] == "debug"),
    ("level garbage", {"level": "loud"},
     lambda e: e["level"] == "error" and e["errors"][0]["name"] == "level"),
    ("level default", {}, lambda e: e["level"] == "error"),
    ("level transaction default", {"type": "transaction"}, lambda e: e["level"] == "info"),
    # platform
    ("platform default", {}, lambda e: e["platform"] == "other"),
    ("platform unknown", {"platform": "transaction"}, lambda e: e["platform"] == "other"),
    ("platform kept", {"platform": "node"}, lambda e: e["platform"] == "node"),
    # type
    ("type default", {"message": "hi"}, lambda e: e["type"] == "default"),
    ("type error", {"exception": [{"type": "E"}]}, lambda e: e["type"] == "error"),
    ("type garbage", {"type": "bogus"}, lambda e: e["type"] == "default"),
    # logentry
    ("message string", {"message": "plain text"},
     lambda e: e["logentry"] == {"formatted": "plain text"} and "message" not in e),
    ("logentry printf", {"logentry": {"message": "order %s failed %d times", "params": [17, 3]}},
     lambda e: e["logentry"]["formatted"] == "order 17 failed 3 times"),
    ("logentry brace", {"logentry": {"message": "{0} of {1}", "params": ["a", "b"]}},
     lambda e: e["logentry"]["formatted"] == "a of b"),
    ("logentry named", {"logentry": {"message": "hi {name}", "params": {"name": "jo"}}},
     lambda e: e["logentry"]["formatted"] == "hi jo"),
    ("logentry formatted kept", {"logentry": {"message": "%s", "params": [1], "formatted": "x"}},
     lambda e: e["logentry"] == {"message": "%s", "params": [1], "formatted": "x"}),
    ("logentry template only", {"logentry": {"message": "static"}},
     lambda e: e["logentry"] == {"message": "static", "formatted": "static"}),
    ("logentry wins over message", {"logentry": {"formatted": "a"}, "message": "b"},
     lambda e: e["logentry"]["formatted"] == "a"),
    ("logentry as string", {"logentry": "text"}, lambda e: e["logentry"]["formatted"] == "text"),
    # exceptions
    ("exception bare list", {"exception": [{"type": "ValueError", "value": "x"}]},
     lambda e: e["exception"] == {"values": [{"type": "ValueError", "value": "x"}]}),
    ("exception dropped entries",
     {"exception": {"values": [None, {}, {"module": "m"}, {"value": "v"}]}},
     lambda e: e["exception"]["values"] == [{"value": "v"}]),
    ("exception nothing left", {"exception": {"values": [None]}},
     lambda e: "exception" not in e and e["type"] == "default"),
    ("exception type:value split", {"exception": [{"value": "KeyError: 'sku'"}]},
     lambda e: e["exception"]["values"][0] == {"type": "KeyError", "value": "'sku'"}),
    ("exception synthetic not split",
     {"exception": [{"value": "kept: order 3",
                     "mechanism": {"type": "generic", "synthetic": True}}]},
     lambda e: e["exception"]["values"][0]["value"] == "kept: order 3"),
    ("exception mechanism default type",
     {"exception": [{"type": "E", "mechanism": {"handled": False}}]},
     lambda e: e["exception"]["values"][0]["mechanism"] == {"type": "generic", "handled": False}
     and ["handled", "no"] in e["tags"]),
    ("lone stacktrace moves in",
     {"exception": [{"type": "E"}], "stacktrace": {"frames": [{"function": "f"}]}},
     lambda e: e["exception"]["values"][0]["stacktrace"]["frames"] == [{"function": "f"}]
     and "stacktrace" not in e),
    ("stacktrace without exception stays",
     {"stacktrace": {"frames": [{"function": "f"}]}},
     lambda e: e["stacktrace"]["frames"] == [{"function": "f"}] and "exception" not in e),
    ("frame coercion",
     {"exception": [{"type": "E", "stacktrace": {"frames": [
         {"lineno": "12", "colno": 3.0, "in_app": "true", "function": None,
          "vars": ["a", "b"]}]}}]},
     lambda e: e["exception"]["values"][0]["stacktrace"]["frames"][0]
     == {"lineno": 12, "colno": 3, "in_app": True, "vars": {"0": "a", "1": "b"}}),
    # breadcrumbs
    ("breadcrumbs list", {"breadcrumbs": [{"message": "m", "timestamp": T0}]},
     lambda e: e["breadcrumbs"]["values"]
     == [{"timestamp": T0, "type": "default", "level": "info", "message": "m"}]),
    ("breadcrumbs last 100", {"breadcrumbs": [{"message": str(i)} for i in range(150)]},
     lambda e: [c["message"] for c in e["breadcrumbs"]["values"]]
     == [str(i) for i in range(50, 150)]
     and e["_meta"]["breadcrumbs"]["values"][""]["len"] == 150),
    ("breadcrumbs garbage", {"breadcrumbs": "nope"}, lambda e: e["breadcrumbs"] == {"values": []}),
    # tags
    ("tags dict", {"tags": {"a": "1", "b": 2, "c": True, "d": 1.5}},
     lambda e: e["tags"][:4] == [["a", "1"], ["b", "2"], ["c", "True"], ["d", "1.5"]]),
    ("tags pairs", {"tags": [["plan", "pro"], ["tier", "gold"], ["plan", "free"]]},
     lambda e: e["tags"][:2] == [["plan", "pro"], ["tier", "gold"]]
     and ["plan", "free"] not in e["tags"]),
    ("tags empty dropped", {"tags": {"": "x", "k": "", "n": None, "ok": "1"}},
     lambda e: e["tags"][0] == ["ok", "1"] and dict(e["tags"]).keys() >= {"ok"}
     and "k" not in dict(e["tags"])),
    ("tags reserved dropped",
     {"tags": {"release": "x", "dist": "y", "user": "z", "filename": "f", "function": "g"}},
     lambda e: dict(e["tags"]).get("release") is None and "user" not in dict(e["tags"])),
    ("tags oversized", {"tags": {"long": "v" * 201, "k" * 201: "v", "fine": "v" * 200}},
     lambda e: dict(e["tags"]) == {"fine": "v" * 200, "level": "error"}
     and e["_meta"]["tags"]["0"][""]["len"] == 201 and e["_meta"]["tags"]["1"][""]["len"] == 201),
    ("tags newline", {"tags": {"a": "x\ny"}}, lambda e: "a" not in dict(e["tags"])),
    ("tags environment moved", {"tags": {"environment": "staging"}},
     lambda e: e["environment"] == "staging" and ["environment", "staging"] in e["tags"]),
    ("tags environment field wins", {"environment": "prod", "tags": {"environment": "staging"}},
     lambda e: e["environment"] == "prod" and dict(e["tags"])["environment"] == "prod"),
    ("tags user-supplied beats derived", {"level": "info", "tags": {"level": "custom"}},
     lambda e: dict(e["tags"])["level"] == "custom"),
    ("tags garbage", {"tags": "a=b"}, lambda e: e["tags"] == [["level", "error"]]),
    ("tags pair garbage", {"tags": [["a"], "x", ["b", {"c": 1}], ["d", "e"]]},
     lambda e: e["tags"][0] == ["d", "e"]),
    # derived tags
    ("derived user email", {"user": {"email": "a@b.c", "ip_address": "1.2.3.4"}},
     lambda e: dict(e["tags"])["user"] == "email:a@b.c"),
    ("derived user ip", {"user": {"ip_address": "1.2.3.4"}},
     lambda e: dict(e["tags"])["user"] == "ip:1.2.3.4"),
    ("derived url without query", {"request": {"url": "https://x.io/a?b=1#frag"}},
     lambda e: dict(e["tags"])["url"] == "https://x.io/a" and e["request"]["fragment"] == "frag"),
    ("derived browser and device",
     {"contexts": {"browser": {"name": "Firefox", "version": "81.0"},
                   "device": {"model": "Pixel 7"}}},
     lambda e: dict(e["tags"])["browser"] == "Firefox 81.0"
     and dict(e["tags"])["browser.name"] == "Firefox" and dict(e["tags"])["device"] == "Pixel 7"),
    ("derived site", {"site": "eu-1"}, lambda e: dict(e["tags"])["site"] == "eu-1"),
    # user
    ("user id coerced", {"user": {"id": 42}}, lambda e: e["user"] == {"id": "42"}),
    ("user unknown keys to data", {"user": {"id": "1", "plan": "pro", "data": {"a": 1}}},
     lambda e: e["user"] == {"id": "1", "data": {"a": 1, "plan": "pro"}}),
    ("user auto ip", {"user": {"ip_address": "{{auto}}"}},
     lambda e: e["user"] == {"ip_address": "192.0.2.10"}),
    ("user bad ip", {"user": {"id": "1", "ip_address": "not-an-ip"}},
     lambda e: e["user"] == {"id": "1"}),
    ("user ip inferred for browsers", {"platform": "javascript"},
     lambda e: e["user"] == {"ip_address": "192.0.2.10"}),
    ("user not inferred for servers", {"platform": "python"}, lambda e: "user" not in e),
    ("user ip inferred when the sdk asks", {"sdk": {"settings": {"infer_ip": "auto"}}},
     lambda e: e["user"] == {"ip_address": "192.0.2.10"}),
    # request
    ("request headers dict", {"request": {"headers": {"content-type": "a/b", "X-API-KEY": 1}}},
     lambda e: e["request"]["headers"] == [["Content-Type", "a/b"], ["X-Api-Key", "1"]]),
    ("request cookies string", {"request": {"cookies": "a=1; b=2"}},
     lambda e: e["request"]["cookies"] == [["a", "1"], ["b", "2"]]),
    ("request cookie header", {"request": {"headers": [["Cookie", "a=1"]]}},
     lambda e: e["request"]["cookies"] == [["a", "1"]] and "headers" not in e["request"]),
    ("request query dict", {"request": {"query_string": {"a": "1", "b": ["2", "3"]}}},
     lambda e: e["request"]["query_string"] == [["a", "1"], ["b", "2, 3"]]),
    ("request query from url", {"request": {"url": "/p?x=1&y=%20z"}},
     lambda e: e["request"]["query_string"] == [["x", "1"], ["y", " z"]]
     and e["request"]["url"] == "/p"),
    ("request method", {"request": {"method": "post"}}, lambda e: e["request"]["method"] == "POST"),
    # contexts
    ("contexts type default", {"contexts": {"gpu": {"name": "x"}, "bad": 3, "none": None}},
     lambda e: e["contexts"] == {"gpu": {"name": "x", "type": "gpu"}}),
    ("trace ids lowercased", {"contexts": {"trace": {"trace_id": "A" * 32, "span_id": "zz"}}},
     lambda e: e["contexts"]["trace"] == {"trace_id": "a" * 32, "type": "trace"}),
    ("transaction trace status default", {"type": "transaction", "contexts": {"trace": {}}},
     lambda e: e["contexts"]["trace"]["status"] == "unknown"),
    ("trace status alias", {"contexts": {"trace": {"status": "unknown_error"}}},
     lambda e: e["contexts"]["trace"]["status"] == "unknown"),
    # release / environment / dist / logger / transaction
    ("release number", {"release": 12}, lambda e: e["release"] == "12"),
    ("release trimmed", {"release": "  shop@1.0  "}, lambda e: e["release"] == "shop@1.0"),
    ("release invalid slash", {"release": "a/b"},
     lambda e: "release" not in e and e["errors"][0]["name"] == "release"),
    ("release invalid dots", {"release": ".."}, lambda e: "release" not in e),
    ("release too long", {"release": "r" * 201}, lambda e: "release" not in e),
    ("environment too long", {"environment": "e" * 65}, lambda e: "environment" not in e),
    ("environment None", {"environment": "None"}, lambda e: "environment" not in e),
    ("dist invalid", {"dist": "a b"}, lambda e: "dist" not in e),
    ("logger newline", {"logger": "a\nb"}, lambda e: "logger" not in e),
    ("logger long keeps tail", {"logger": "x." * 40 + "end"},
     lambda e: len(e["logger"]) == 64 and e["logger"].endswith("end")),
    ("transaction trimmed", {"transaction": "  /orders/{id}  "},
     lambda e: e["transaction"] == "/orders/{id}"),
    ("fingerprint coerced", {"fingerprint": ["{{ default }}", 7, 1.0]},
     lambda e: e["fingerprint"] == ["{{ default }}", "7", "1"]),
    ("fingerprint garbage", {"fingerprint": "abc"}, lambda e: "fingerprint" not in e),
    # nulls and unknowns
    ("nulls tolerated",
     {k: None for k in ("event_id", "timestamp", "level", "platform", "release", "tags", "user",
                        "request", "contexts", "exception", "breadcrumbs", "extra", "logentry",
                        "message", "sdk", "fingerprint", "environment", "logger", "modules")},
     lambda e: "errors" not in e and e["level"] == "error"),
    ("unknown attribute", {"frobnicate": 1},
     lambda e: e["errors"] == [{"type": "invalid_attribute", "name": "frobnicate", "value": None}]
     and "frobnicate" not in e),
    ("server keys dropped quietly", {"project": 5, "received": 1, "key_id": 3},
     lambda e: "errors" not in e and "project" not in e and e["received"] == T0),
    ("measurements only on transactions", {"measurements": {"lcp": {"value": 1}}},
     lambda e: "measurements" not in e),
    ("_meta kept", {"_meta": {"extra": {"x": {"": {"rem": [["!config", "s"]]}}}}},
     lambda e: e["_meta"] == {"extra": {"x": {"": {"rem": [["!config", "s"]]}}}}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "check"), [pytest.param(p, c, id=i) for i, p, c in FIELD_CASES]
)
def test_field_normalisation(payload: dict[str, Any], check: Check) -> None:
    event = normalize_event(payload, _ctx(client_ip="192.0.2.10"))
    assert_invariants(event)
    assert check(event), json.dumps(event, indent=1, default=str)[:3000]


@pytest.mark.parametrize(
    ("template", "params", "expected"),
    [
        ("order %s", [17], "order 17"),
        ("%s%%", [5], "5%"),
        ("%d items, %.2f EUR, %r", [3, 2.5, "x"], "3 items, 2.5 EUR, x"),
        ("%(user)s paid", {"user": "jo"}, "jo paid"),
        ("missing %s and %s", ["one"], "missing one and %s"),
        ("{} and {}", ["a", "b"], "a and b"),
        ("{1} before {0}", ["a", "b"], "b before a"),
        ("{name!r:>10}", {"name": "jo"}, "jo"),
        ("{unknown}", {"name": "jo"}, "{unknown}"),
        ("no params %s", [], "no params %s"),
        ("none %s %s", [None, True], "none None True"),
        ("dict %s", [{"a": 1}], "dict {'a': 1}"),
    ],
)
def test_render_logentry(template: str, params: object, expected: str) -> None:
    assert render_logentry(template, params) == expected


# -- trimming and bombs ------------------------------------------------------------------------


def test_huge_strings_are_trimmed_with_meta() -> None:
    event = normalize_event(
        {
            "message": "m" * 20_000,
            "transaction": "t" * 500,
            "culprit": "c" * 500,
            "exception": [{"type": "T" * 1000, "value": "v" * 20_000}],
            "extra": {"blob": "x" * 100_000},
            "request": {"data": "d" * 50_000},
        },
        _ctx(),
    )
    assert len(event["logentry"]["formatted"]) == 8192
    assert event["_meta"]["logentry"]["formatted"][""]["len"] == 20_000
    assert len(event["transaction"]) == 200
    assert event["_meta"]["transaction"][""]["len"] == 500
    assert len(event["culprit"]) == 200
    exc = event["exception"]["values"][0]
    assert len(exc["type"]) == 256 and len(exc["value"]) == 8192
    assert event["_meta"]["exception"]["values"]["0"]["value"][""]["len"] == 20_000
    assert len(event["extra"]["blob"]) <= 16 * 1024
    assert event["_meta"]["extra"]["blob"][""]["len"] == 100_000
    assert len(event["request"]["data"]) <= 8 * 1024
    assert event["_meta"]["request"]["data"][""]["len"] == 50_000


def test_huge_numbers_from_json_loads() -> None:
    """Python's json module decodes integers far beyond 64 bits; none of them may crash us."""
    huge = 10**400
    frames = {"frames": [{"lineno": huge}]}
    raw = {
        "type": "transaction",
        "level": huge,
        "timestamp": huge,
        "start_timestamp": -huge,
        "time_spent": huge,
        "tags": {"big": huge},
        "extra": {"big": huge},
        "measurements": {"lcp": {"value": huge}},
        "spans": [{"exclusive_time": huge, "timestamp": huge, "span_id": huge}],
        "exception": [{"type": "E", "thread_id": huge, "stacktrace": frames}],
    }
    event = normalize_event(json.loads(json.dumps(raw)), _ctx())
    assert_invariants(event)
    assert event["timestamp"] == T0
    assert "big" not in dict(event["tags"]), "401 characters is over the tag limit"
    assert event["extra"]["big"] == str(huge)
    assert event["measurements"] == {}


def test_ten_thousand_tags() -> None:
    event = normalize_event({"tags": {f"k{i}": f"v{i}" for i in range(10_000)}}, _ctx())
    assert_invariants(event)
    user_tags = [pair for pair in event["tags"] if pair[0].startswith("k")]
    assert len(user_tags) == MAX_TAGS
    assert user_tags[0] == ["k0", "v0"]
    assert event["_meta"]["tags"][""]["len"] == 10_000
    assert dict(event["tags"])["level"] == "error"


def test_ten_thousand_bad_tags_keep_errors_bounded() -> None:
    event = normalize_event({"tags": [[f"k{i}", {"x": i}] for i in range(10_000)]}, _ctx())
    assert len(event["errors"]) <= 101
    assert event["errors"][-1]["type"] == "too_many_errors"


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": "x"}
    for _ in range(depth):
        value = {"n": value}
    return value


def test_deep_nesting_is_cut_by_depth() -> None:
    deep = _nested(5000)  # far beyond any recursion limit if walked naively
    event = normalize_event(
        {
            "extra": {"deep": deep},
            "contexts": {"custom": deep},
            "request": {"data": deep},
            "user": {"data": deep},
            "exception": [{"type": "E", "stacktrace": {"frames": [{"vars": deep}]}}],
            "breadcrumbs": [{"data": deep}],
            "tags": {"t": deep},
            "_meta": deep,
        },
        _ctx(),
    )
    assert_invariants(event)

    def depth(value: object) -> int:
        if isinstance(value, dict):
            return 1 + max((depth(v) for v in value.values()), default=0)
        return 0

    assert depth(event["extra"]["deep"]) <= 10
    assert depth(event["contexts"]["custom"]) <= 6
    assert event["_meta"]["extra"]["deep"]  # the cut is recorded


def test_frames_trimmed_from_the_middle() -> None:
    frames = [{"function": f"f{i}", "vars": {"i": i}} for i in range(1000)]
    event = normalize_event(
        {"exception": [{"type": "RecursionError", "stacktrace": {"frames": frames}}]}, _ctx()
    )
    stacktrace = event["exception"]["values"][0]["stacktrace"]
    kept = [frame["function"] for frame in stacktrace["frames"]]
    assert len(kept) == 250
    assert kept[:3] == ["f0", "f1", "f2"] and kept[-1] == "f999"
    assert stacktrace["frames_omitted"] == [125, 875]
    assert "f125" not in kept and "f875" in kept
    assert event["_meta"]["exception"]["values"]["0"]["stacktrace"]["frames"][""]["len"] == 1000
    assert "vars" in stacktrace["frames"][0] and "vars" in stacktrace["frames"][-1]
    assert "vars" not in stacktrace["frames"][125], "middle frames lose their locals"


# -- transactions ------------------------------------------------------------------------------

GOOD_TRANSACTION: dict[str, Any] = {
    "type": "transaction",
    "transaction": "GET /orders/{id}",
    "start_timestamp": T0 - 1,
    "timestamp": T0,
    "contexts": {"trace": {"trace_id": "a" * 32, "span_id": "b" * 16, "op": "http.server"}},
    "spans": [{"trace_id": "a" * 32, "span_id": "c" * 16, "parent_span_id": "b" * 16,
               "start_timestamp": T0 - 0.9, "timestamp": T0 - 0.1, "op": "db",
               "status": "ok", "data": {"db.system": "sqlite"}, "tags": {"x": 1}}],
    "measurements": {"lcp": {"value": 10, "unit": "millisecond"}, "bad": {"value": "x"}},
}  # fmt: skip


def _transaction(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(GOOD_TRANSACTION)
    for dotted, value in changes.items():
        target: Any = payload
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return payload


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (_transaction(), None),
        (_transaction(start_timestamp=...), "missing start_timestamp"),
        (_transaction(start_timestamp="garbage"), "missing start_timestamp"),
        (_transaction(timestamp=T0 - 2), "start_timestamp is after timestamp"),
        (_transaction(contexts=...), "trace context without a valid trace_id"),
        (_transaction(contexts__trace__trace_id="xyz"), "trace context without a valid trace_id"),
        (_transaction(contexts__trace__span_id=...), "trace context without a valid span_id"),
        (_transaction(spans__0__span_id=...), "span 0: missing span_id"),
        (_transaction(spans__0__trace_id=None), "span 0: missing trace_id"),
        (_transaction(spans__0__timestamp=...), "span 0: missing timestamp"),
        (_transaction(spans__0__timestamp=T0 - 0.95), "span 0: start_timestamp is after timestamp"),
    ],
)
def test_validate_transaction(payload: dict[str, Any], problem: str | None) -> None:
    event = normalize_event(payload, _ctx())
    assert validate_transaction(event) == problem


def test_transaction_shape() -> None:
    event = normalize_event(_transaction(), _ctx())
    assert event["type"] == "transaction"
    assert event["contexts"]["trace"]["status"] == "unknown"
    (span,) = event["spans"]
    assert span["tags"] == {"x": "1"}
    assert span["status"] == "ok"
    assert isinstance(span["start_timestamp"], float)
    assert event["measurements"] == {"lcp": {"value": 10.0, "unit": "millisecond"}}
    assert dict(event["tags"])["transaction"] == "GET /orders/{id}"
    assert validate_transaction({"type": "transaction"}) == "missing start_timestamp"


# -- never raises ------------------------------------------------------------------------------

# Keys from Sentry's event schema, so random payloads reach deep into the interfaces.
VOCABULARY = [
    "event_id", "timestamp", "start_timestamp", "type", "platform", "level", "logger",
    "transaction", "release", "dist", "environment", "tags", "fingerprint", "modules", "extra",
    "message", "logentry", "formatted", "params", "exception", "values", "value", "stacktrace",
    "frames", "vars", "lineno", "in_app", "mechanism", "handled", "synthetic", "threads",
    "breadcrumbs", "data", "category", "contexts", "trace", "trace_id", "span_id", "status",
    "os", "name", "version", "request", "url", "headers", "cookies", "query_string", "env",
    "REMOTE_ADDR", "user", "id", "ip_address", "email", "geo", "sdk", "integrations",
    "packages", "spans", "measurements", "unit", "errors", "_meta", "sentry.interfaces.User",
    "server_name", "site", "transaction_info", "source", "debug_meta", "sent_at",
]  # fmt: skip
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["{{auto}}", "2026-11-28T17:05:34Z", "a" * 32, "warn", "transaction"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=10), json_values))
def test_normalize_never_raises(payload: dict[str, Any]) -> None:
    event = normalize_event(payload, _ctx(client_ip="192.0.2.10", sent_at=T0 - 5000))
    assert_invariants(event)
    assert orjson.loads(orjson.dumps(event)) == json.loads(json.dumps(event))

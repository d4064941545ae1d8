"""Server-side scrubbing over the PII captures and a table of key/value cases.

The PII captures were sent by sentry-sdk with ``send_default_pii`` off and on; both still carry
secrets the SDK does not catch (card numbers, tokens in query strings, raw ASGI scopes in frame
locals with the Authorization and Cookie headers). After normalise + scrub none may remain.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vedette.domain.envelope import parse_envelope
from vedette.processing.normalize import NormalizeContext, normalize_event
from vedette.processing.scrub import FILTERED, ScrubConfig, is_card_number, scrub_event
from vedette.processing.timestamps import parse_timestamp

CORPORA = Path(__file__).parent.parent / "fixtures" / "corpora"
T0 = 1_795_885_543.0

# Secrets the PII captures carry (found by reading them), where they sit, and why they must go.
PII_SECRETS = {
    "hunter2": "the form password, in the endpoint frame's `payload` local",
    "4242424242424242": "request.data.card_number and the `payload` local (the SDK keeps cards)",
    "eyJhbGciOiJIUzI1NiJ9": "the bearer token, in raw ASGI scope headers in frame locals",
    "abc123": "the sessionid cookie, in the raw Cookie header in frame locals",
    "tok456": "the csrftoken cookie, same place",
    "qs-secret-123": "token=... in request.query_string and the raw scope query_string",
    "key-789": "the X-Api-Key header (sent as-is with send_default_pii=True)",
}
# Values that are not secret and must survive scrubbing.
PII_KEPT = [
    "SPRING24",  # coupon query parameter
    "c-55",  # cart id
    "Mozilla/5.0 (X11; Linux x86_64) corpora-test/1.0",  # User-Agent is never scrubbed
    "card declined for cart c-55",  # exception.value is excluded
    "/opt/venv/lib/python3.11/site-packages/starlette/applications.py",  # frame abs_path
]


def _pii_payloads() -> list[Any]:
    params = []
    for path in sorted((CORPORA / "sdk-python").glob("pii_*.envelope")):
        envelope = parse_envelope(path.read_bytes())
        for item in envelope.items:
            if item.type == "event":
                sent_at = parse_timestamp(envelope.headers.get("sent_at"))
                assert sent_at is not None
                ctx = NormalizeContext(received=sent_at, event_id=envelope.event_id)
                params.append(pytest.param(item.payload, ctx, id=path.name))
    assert len(params) == 2
    return params


@pytest.mark.parametrize(("raw", "ctx"), _pii_payloads())
def test_no_secret_survives_in_pii_captures(raw: bytes, ctx: NormalizeContext) -> None:
    text = raw.decode()
    assert all(
        secret in text for secret in PII_SECRETS if secret != "key-789" or "pii_enabled" in text
    )
    event = scrub_event(normalize_event(orjson.loads(raw), ctx), ScrubConfig())
    stored = orjson.dumps(event).decode()
    for secret, where in PII_SECRETS.items():
        assert secret not in stored, f"{secret!r} leaked ({where})"
    for kept in PII_KEPT:
        assert kept in stored, kept
    request = event["request"]
    assert dict(request["data"])["card_number"] == FILTERED
    assert request["query_string"] == [["coupon", "SPRING24"], ["token", FILTERED]]
    assert event["user"]["id"] == "1001"
    meta = event["_meta"]["request"]
    assert meta["data"]["card_number"][""] == {"rem": [["@creditcard:filter", "s"]], "len": 16}
    assert meta["query_string"]["1"]["1"][""]["rem"] == [["@password:filter", "s"]]
    assert "hunter2" not in json.dumps(event["_meta"]), "originals are never kept in _meta"


def test_pii_enabled_cookies_and_headers() -> None:
    (param,) = [p for p in _pii_payloads() if p.id == "pii_enabled.1.envelope"]
    raw, ctx = param.values
    event = scrub_event(normalize_event(orjson.loads(raw), ctx), ScrubConfig())
    request = event["request"]
    assert request["cookies"] == [
        ["sessionid", FILTERED],
        ["csrftoken", FILTERED],
        ["theme", "dark"],
    ]
    headers = dict(request["headers"])
    assert headers["X-Api-Key"] == FILTERED
    assert headers["Authorization"] == FILTERED
    assert headers["X-Forwarded-For"] == "203.0.113.7, 10.0.0.2", "IPs stay unless configured"
    assert event["user"]["ip_address"] == "203.0.113.7"
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][0]
    scope_headers = dict(frame["vars"]["scope"]["headers"])
    assert scope_headers["b'authorization'"] == FILTERED
    assert scope_headers["b'cookie'"] == FILTERED
    assert scope_headers["b'host'"] == "b'testserver'"
    assert frame["vars"]["scope"]["query_string"] == "b'coupon=SPRING24&token=[Filtered]'"


# -- the key / value table -----------------------------------------------------------------


def _scrub_extra(extra: dict[str, Any], config: ScrubConfig | None = None) -> dict[str, Any]:
    event = {"event_id": "a" * 32, "extra": copy.deepcopy(extra)}
    return scrub_event(event, config or ScrubConfig())


@pytest.mark.parametrize(
    ("key", "value", "filtered"),
    [
        ("password", "hunter2", True),
        ("db_passwd", "x", True),
        ("client_secret", "x", True),
        ("api_key", "x", True),
        ("X-Api-Key", "x", True),
        ("apikey", "x", True),
        ("Authorization", "Basic Zm9vOmJhcg==", True),
        ("auth", "x", True),
        # Sentry's pattern matches "auth" anywhere: author fields are filtered too. Documented
        # in scrub.py; list such keys in ScrubConfig.safe_keys to keep them.
        ("author_id", "17", True),
        ("credentials", {"user": "a", "pass": "b"}, True),
        ("mysql_pwd", "x", True),
        ("privateKey", "x", True),
        ("private-key", "x", True),
        ("access_token", "x", True),
        ("refresh_tokens", "x", True),
        ("csrftoken", "x", True),
        ("sessionid", "x", True),
        ("PHPSESSID", "x", True),
        ("connect.sid", "x", True),
        ("set_cookie", "x", True),
        ("otp", "123456", True),
        ("two_factor", "123456", True),
        ("password", 1234, True),
        # not sensitive
        ("otp_enabled", True, False),
        ("username", "jane", False),
        ("email", "jane@example.com", False),  # emails are not filtered server-side by default
        ("notes", "nothing to see", False),
        ("order_total", 4999, False),
        ("password", None, False),  # nothing to hide
        ("password", "", False),
        # token counters from AI spans are numbers, not secrets
        ("gen_ai.usage.input_tokens", 512, False),
        ("token_count", 3, False),
    ],
)
def test_key_based_rule(key: str, value: Any, filtered: bool) -> None:
    event = _scrub_extra({key: value, "nested": {key: value}, "pairs": [[key, value], ["k", "v"]]})
    extra = event["extra"]
    expected = FILTERED if filtered else value
    assert extra[key] == expected
    assert extra["nested"][key] == expected
    assert extra["pairs"] == [[key, expected], ["k", "v"]]
    if filtered:
        assert event["_meta"]["extra"][key][""]["rem"][0][1] == "s"
    else:
        assert "_meta" not in event


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # credit cards: Visa, Mastercard, Amex, Discover; separators allowed
        ("4242424242424242", FILTERED),
        ("4242 4242 4242 4242", FILTERED),
        ("4242-4242-4242-4242", FILTERED),
        ("card 4111111111111111 declined", f"card {FILTERED} declined"),
        ("5555555555554444", FILTERED),
        ("3782 822463 10005", FILTERED),
        ("6011111111111117", FILTERED),
        # false-positive guards: Luhn-invalid, unknown issuer, too long, ms timestamps, ids
        ("4242424242424241", "4242424242424241"),
        ("4111111111111112", "4111111111111112"),
        ("1234567890123452", "1234567890123452"),  # Luhn-valid, but no card issuer starts with 1
        ("42424242424242424242", "42424242424242424242"),
        ("1795885549838", "1795885549838"),
        ("thread 140004860884672", "thread 140004860884672"),
        ("d667cf0ac98e414b9ee30fe55c6283d6", "d667cf0ac98e414b9ee30fe55c6283d6"),
        ("0.4242424242424242", "0.4242424242424242"),
        # IBAN (mod-97 checked)
        ("DE89 3704 0044 0532 0130 00", FILTERED),
        ("pay to GB82WEST12345698765432 now", f"pay to {FILTERED} now"),
        ("DE00 3704 0044 0532 0130 00", "DE00 3704 0044 0532 0130 00"),
        # US SSN
        ("ssn 123-45-6789", f"ssn {FILTERED}"),
        ("000-12-3456", "000-12-3456"),
        ("2026-11-28", "2026-11-28"),
        # passwords in URLs: only the password part
        ("postgres://app:s3cr3t@db:5432/shop", f"postgres://app:{FILTERED}@db:5432/shop"),
        ("https://example.com:8443/path", "https://example.com:8443/path"),
        # bearer tokens
        ("Bearer abc.def-ghi_jkl", f"Bearer {FILTERED}"),
        ("a bearer of bad news", "a bearer of bad news"),
        # PEM bodies
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
            f"-----BEGIN RSA PRIVATE KEY-----{FILTERED}-----END RSA PRIVATE KEY-----",
        ),
        # user home paths
        ("/home/jane/project/app.py", f"/home/{FILTERED}/project/app.py"),
        ("C:\\Users\\jane\\app.exe", f"C:\\Users\\{FILTERED}\\app.exe"),
        ("/srv/shop/app.py", "/srv/shop/app.py"),
        # key=value pairs inside strings (query strings, cookie headers captured as text)
        ("token=abc&page=2", f"token={FILTERED}&page=2"),
        ("b'sessionid=abc123; theme=dark'", f"b'sessionid={FILTERED}; theme=dark'"),
        ('{"password": "hunter2", "user": "jo"}', f'{{"password": "{FILTERED}", "user": "jo"}}'),
        ("Authorization: Basic Zm9vOmJhcg==", f"Authorization: Basic {FILTERED}"),
        ("basic information", "basic information"),
        ("author: Jane Doe", "author: Jane Doe"),
        ("Authentication failed, token expired!", "Authentication failed, token expired!"),
        # plain values stay
        ("jane@example.com", "jane@example.com"),
        ("203.0.113.7", "203.0.113.7"),
        ("nothing here", "nothing here"),
        (4242424242424242, FILTERED),
        (4242424242424241, 4242424242424241),
        (1795885549.838, 1795885549.838),
    ],
)
def test_value_based_rule(value: Any, expected: Any) -> None:
    event = _scrub_extra({"note": value})
    assert event["extra"]["note"] == expected
    if expected != value:
        assert event["_meta"]["extra"]["note"][""]["rem"]


def test_is_card_number() -> None:
    assert is_card_number("4242 4242 4242 4242")
    assert not is_card_number("4242 4242 4242 4241")
    assert not is_card_number("42")


@pytest.mark.parametrize(
    ("formatted", "expected"),
    [
        ("paid with 4242 4242 4242 4242 by jane@example.com",
         "paid with [creditcard] by [email]"),
        ("ssn 123-45-6789", "ssn [us-ssn]"),
        ("iban DE89370400440532013000", "iban [iban]"),
        ("header Bearer abc.def", "header Bearer [token]"),
        ("dsn postgres://app:s3cr3t@db/shop", "dsn postgres://app:[auth]@db/shop"),
        ("Order 17 left in state 'charging'", "Order 17 left in state 'charging'"),
        ("session: 5 minutes", "session: 5 minutes"),  # key: value is prose in a message
        ("retry with token=abc123 failed", "retry with token=[Filtered] failed"),  # key=value
        ("login password=hunter2", "login password=[connection-string-password]"),  # once
    ],
)  # fmt: skip
def test_logentry_formatted_gets_replace_only_rules(formatted: str, expected: str) -> None:
    event = {"logentry": {"message": formatted, "formatted": formatted}}
    scrub_event(event, ScrubConfig())
    assert event["logentry"]["formatted"] == expected


def test_exclusions() -> None:
    event: dict[str, Any] = {
        "exception": {"values": [{
            "type": "CardError", "value": "card 4242424242424242 for jane declined",
            "stacktrace": {"frames": [{"filename": "/home/jane/app.py",
                                       "abs_path": "/home/jane/app.py",
                                       "context_line": "pay('4242424242424242')",
                                       "vars": {"password": "x", "home": "/home/jane"}}]},
        }]},
        "debug_meta": {"images": [{"code_file": "/home/jane/lib.so", "token": "x"}]},
        "request": {"headers": [["User-Agent", "Bearer-ish/1.0 token=abc"]]},
        "user": {"id": "4242424242424242", "username": "jane"},
        "contexts": {"trace": {"trace_id": "4" * 32, "span_id": "4" * 16}},
    }  # fmt: skip
    scrub_event(event, ScrubConfig())
    exc = event["exception"]["values"][0]
    assert exc["value"] == "card 4242424242424242 for jane declined"
    frame = exc["stacktrace"]["frames"][0]
    assert frame["filename"] == frame["abs_path"] == "/home/jane/app.py"
    assert frame["context_line"] == f"pay('{FILTERED}')"
    assert frame["vars"] == {"password": FILTERED, "home": f"/home/{FILTERED}"}
    assert event["debug_meta"]["images"][0] == {"code_file": "/home/jane/lib.so", "token": "x"}
    assert event["request"]["headers"] == [["User-Agent", "Bearer-ish/1.0 token=abc"]]
    assert event["user"]["id"] == "4242424242424242"
    assert event["contexts"]["trace"]["trace_id"] == "4" * 32


def test_everywhere_else_is_scrubbed() -> None:
    """Breadcrumbs, tags, contexts, spans, user data, query strings in every shape."""
    payload = {
        "type": "transaction",
        "start_timestamp": T0 - 1, "timestamp": T0,
        "contexts": {"trace": {"trace_id": "a" * 32, "span_id": "b" * 16},
                     "auth": {"api_key": "k", "region": "eu"}},
        "tags": {"api_key": "k1", "card": "4242 4242 4242 4242", "plan": "pro"},
        "breadcrumbs": [{"message": "login password=hunter2", "data": {"token": "t", "x": 1}}],
        "user": {"id": "7", "data": {"secret_answer": "blue"}, "name": "4242424242424242"},
        "spans": [{"trace_id": "a" * 32, "span_id": "c" * 16, "start_timestamp": T0 - 1,
                   "timestamp": T0, "description": "UPDATE cards SET n='4242424242424242'",
                   "data": {"db.password": "p", "gen_ai.usage.total_tokens": 9},
                   "tags": {"session": "s"}}],
        "request": {"url": "https://u:pw@x.io/a?token=abc&page=2",
                    "cookies": {"su": "1", "_xsrf": "2", "theme": "dark", "my_session": "3"},
                    "env": {"SECRET_KEY": "s", "SERVER_NAME": "web"}},
    }  # fmt: skip
    # A fixed event id: a random one contains "abc" about once in a hundred runs.
    ctx = NormalizeContext(received=T0, event_id="0" * 32)
    event = scrub_event(normalize_event(payload, ctx), ScrubConfig())
    stored = orjson.dumps(event).decode()
    for secret in ("hunter2", "4242", '"k"', '"k1"', "blue", "abc", ":pw@"):
        assert secret not in stored, secret
    tags = dict(event["tags"])
    assert tags["api_key"] == FILTERED and tags["card"] == FILTERED and tags["plan"] == "pro"
    assert event["contexts"]["auth"] == {"api_key": FILTERED, "region": "eu", "type": "auth"}
    crumb = event["breadcrumbs"]["values"][0]
    assert crumb["message"] == f"login password={FILTERED}"
    assert crumb["data"] == {"token": FILTERED, "x": 1}
    span = event["spans"][0]
    assert span["data"] == {"db.password": FILTERED, "gen_ai.usage.total_tokens": 9}
    assert span["tags"] == {"session": FILTERED}
    assert span["description"] == f"UPDATE cards SET n='{FILTERED}'"
    assert event["request"]["query_string"] == [["token", FILTERED], ["page", "2"]]
    assert event["request"]["cookies"] == [
        ["su", FILTERED], ["_xsrf", FILTERED], ["theme", "dark"], ["my_session", FILTERED],
    ]  # fmt: skip
    assert event["request"]["env"] == {"SECRET_KEY": FILTERED, "SERVER_NAME": "web"}
    assert event["user"]["id"] == "7"


@pytest.mark.parametrize(
    "query",
    [
        "token=abc&page=2",
        {"token": "abc", "page": "2"},
        [["token", "abc"], ["page", "2"]],
    ],
)
def test_query_string_in_every_shape_unnormalised(query: object) -> None:
    event = scrub_event({"request": {"query_string": copy.deepcopy(query)}}, ScrubConfig())
    assert "abc" not in orjson.dumps(event).decode()
    assert "page" in orjson.dumps(event).decode()


def test_cookie_string_unnormalised() -> None:
    event = scrub_event({"request": {"cookies": "su=1; theme=dark; csrf_token=abc"}}, ScrubConfig())
    assert event["request"]["cookies"] == f"su={FILTERED}; theme=dark; csrf_token={FILTERED}"


# -- configuration ---------------------------------------------------------------------------


def test_extra_sensitive_keys_and_safe_keys() -> None:
    config = ScrubConfig(extra_sensitive_keys=("order_ref",), safe_keys=("author_id", "Password"))
    event = _scrub_extra(
        {"order_ref": "R-1", "my_order_ref_2": "R-2", "author_id": "17", "password": "shown"},
        config,
    )
    assert event["extra"] == {
        "order_ref": FILTERED, "my_order_ref_2": FILTERED, "author_id": "17", "password": "shown",
    }  # fmt: skip
    assert event["_meta"]["extra"]["order_ref"][""]["rem"] == [["strip-fields", "s"]]


def test_disabled_scrubber_changes_nothing() -> None:
    extra = {"password": "hunter2", "card": "4242424242424242"}
    assert _scrub_extra(extra, ScrubConfig(enabled=False))["extra"] == extra


@pytest.mark.parametrize("enabled", [True, False])
def test_scrub_ip_addresses(enabled: bool) -> None:
    payload = {
        "user": {"id": None, "ip_address": "203.0.113.7"},
        "request": {"env": {"REMOTE_ADDR": "203.0.113.7"},
                    "headers": {"X-Forwarded-For": "203.0.113.7, 2001:db8::1"}},
        "sdk": {"name": "s", "client_ip": "203.0.113.7"},
        "extra": {"note": "from 10.0.0.2 via ::1 at 10:15:04, std::vector"},
    }  # fmt: skip
    event = normalize_event(payload, NormalizeContext(received=T0))
    assert dict(event["tags"])["user"] == "ip:203.0.113.7"
    scrub_event(event, ScrubConfig(enabled=enabled, scrub_ip_addresses=True))
    stored = orjson.dumps(event).decode()
    assert "203.0.113.7" not in stored and "2001:db8" not in stored and "10.0.0.2" not in stored
    assert "user" not in dict(event["tags"])
    assert "ip_address" not in event.get("user", {})
    assert "REMOTE_ADDR" not in event["request"].get("env", {})
    assert event["extra"]["note"] == "from [ip] via [ip] at 10:15:04, std::vector"


# -- robustness ------------------------------------------------------------------------------


def test_garbage_shapes_do_not_crash() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = {"password_hint": [deep]}
    event: dict[str, Any] = {
        "exception": [None, 3, {"stacktrace": {"frames": [None, "x", {"vars": [1, 2]}]}}],
        "threads": "nope",
        "stacktrace": {"frames": "x"},
        "request": {"headers": "Authorization: x", "cookies": 5, "query_string": None,
                    "data": [[1, 2], ["a"], {"b": deep}]},
        "contexts": {"x": 1, "y": None},
        "user": {"data": deep},
        "logentry": {"formatted": 5, "params": {"password": "p"}},
        "spans": [None, {"data": deep}],
        "tags": [None, ["token", "t"]],
        "extra": deep,
    }  # fmt: skip
    result = scrub_event(event, ScrubConfig(scrub_ip_addresses=True))
    stored = orjson.dumps(result).decode()
    assert '"p"' not in stored and '"t"' not in stored


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["4242 4242 4242 4242", "token=abc", "Bearer x", "/home/j/x", "1.2.3.4"])
)
KEYS = st.sampled_from(
    ["request", "headers", "cookies", "query_string", "exception", "values", "stacktrace",
     "frames", "vars", "user", "contexts", "logentry", "formatted", "spans", "data", "tags",
     "password", "token", "extra", "breadcrumbs", "debug_meta", "threads", "value"]
) | st.text(max_size=8)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=40,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.dictionaries(KEYS, json_values), ip=st.booleans())
def test_scrub_never_raises(payload: dict[str, Any], ip: bool) -> None:
    config = ScrubConfig(scrub_ip_addresses=ip, extra_sensitive_keys=("x",), safe_keys=("y",))
    raw = scrub_event(copy.deepcopy(payload), config)
    orjson.dumps(raw)
    normalized = scrub_event(normalize_event(payload, NormalizeContext(received=T0)), config)
    orjson.dumps(normalized)


def test_a_card_number_sent_as_a_float_goes_as_an_integer_does() -> None:
    """JSON has no integers: an SDK may send 4111111111111111.0."""
    event: dict[str, Any] = {
        "extra": {"as_float": 4111111111111111.0, "as_int": 4111111111111111,
                  "ratio": 0.5, "huge": 1e300, "not_a_card": 4111111111111112.0},
    }  # fmt: skip
    scrub_event(event, ScrubConfig())
    assert event["extra"] == {
        "as_float": FILTERED, "as_int": FILTERED, "ratio": 0.5, "huge": 1e300,
        "not_a_card": 4111111111111112.0,
    }  # fmt: skip

"""The scrubber as a pure function: tables of inputs and what must come out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.privacy.corpus import LOOKALIKES, SECRET_CORES, SECRETS, event_carrying

from vedette.kit.scrub import FILTERED, Scrubber, luhn_valid
from vedette.shared.secret_patterns import redact_secrets

SCRUB = Scrubber(["tenant_secret_ref"])


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("password", True),
        ("Password", True),
        ("user_password_confirm", True),
        ("api_token", True),  # an exact-match denylist lets this through
        ("X-Api-Key", True),
        ("x_api_key", True),
        ("Authorization", True),
        ("Cookie", True),
        ("set-cookie", True),
        ("card_number", True),
        ("cvv", True),
        ("email", True),
        ("sessionid", True),
        ("TENANT-SECRET-REF", True),  # from settings
        ("page", False),
        ("order_id", False),
        ("monkey", False),
        ("db.system", False),
        ("status_code", False),
    ],
)
def test_keys_by_case_insensitive_substring(key: str, sensitive: bool) -> None:
    assert SCRUB.key_is_sensitive(key) is sensitive


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4242 4242 4242 4242 refused", f"card {FILTERED} refused"),
        ("4111-1111-1111-1111", FILTERED),
        ("4242424242424242", FILTERED),
        # Not a card: the Luhn check fails, or the run is too short or too long.
        ("order 4242424242424241", "order 4242424242424241"),
        ("id 123456789012", "id 123456789012"),
        ("ts 17328345678901234567890", "ts 17328345678901234567890"),
        ("Authorization: Bearer eyJhbGciOi.abc-def_1", f"Authorization: {FILTERED} {FILTERED}"),
        ("sent bearer abc.def.ghi", f"sent bearer {FILTERED}"),
        ("GET /x?token=abc123&page=2", f"GET /x?token={FILTERED}&page=2"),
        ("{'password': 'hunter2', 'name': 'Ada'}", f"{{'password': '{FILTERED}', 'name': 'Ada'}}"),
        ('{"api_key": "k-123"}', f'{{"api_key": "{FILTERED}"}}'),
        # SQL placeholders are not secrets and stay readable.
        (
            "SELECT 1 FROM users WHERE users.api_token = ?",
            "SELECT 1 FROM users WHERE users.api_token = ?",
        ),
        ("WHERE token = :token_1", "WHERE token = :token_1"),
        ("nothing to see", "nothing to see"),
    ],
)
def test_values(text: str, expected: str) -> None:
    assert SCRUB.text(text) == expected


def test_luhn() -> None:
    assert luhn_valid("4242424242424242")
    assert luhn_valid("4000000000000002")
    assert not luhn_valid("4242424242424241")


def test_query_string_keeps_harmless_pairs() -> None:
    assert SCRUB.query_string("token=abc&email=a%40b.c&page=2&q=") == (
        f"token={FILTERED}&email={FILTERED}&page=2&q="
    )


def test_user_keeps_the_id_only_unless_pii_is_allowed() -> None:
    user = {"id": "42", "email": "ada@example.com", "username": "ada", "ip_address": "10.0.0.1"}
    assert SCRUB({"user": dict(user)})["user"] == {"id": "42"}
    with_pii = Scrubber(allow_user_pii=True)({"user": dict(user)})
    assert with_pii["user"] == {"id": "42", "email": "ada@example.com", "username": "ada"}
    assert "user" not in SCRUB({"user": {"email": "ada@example.com"}})


def test_a_whole_event() -> None:
    event: dict[str, Any] = {
        "event_id": "4242424242424242aaaaaaaaaaaaaaaa",
        "request": {
            "url": "http://shop/orders",
            "query_string": "token=q-secret&page=2",
            "headers": {"Authorization": "Bearer h-secret", "Accept": "application/json"},
            "cookies": {"session": "c-secret"},
            "data": json.dumps(
                {"card_number": "4242 4242 4242 4242", "note": "call 4242424242424242"}
            ),
        },
        "extra": {"api_token": "e-secret", "count": 3},
        "contexts": {
            "trace": {"trace_id": "1234567890123456789012345678901a", "span_id": "a" * 16},
            "request": {"headers": {"X-Api-Key": "k-secret"}, "url": "http://x/?token=u-secret"},
        },
        "breadcrumbs": {
            "values": [{"message": "login with password=b-secret", "data": {"secret": "d-secret"}}]
        },
        "exception": {
            "values": [
                {"type": "KeyError", "stacktrace": {"frames": [
                    {"vars": {"auth_header": "Bearer v-secret", "body": "{'password': 'p-secret'}"}}
                ]}}
            ]
        },
        "tags": {"page": "2"},
    }  # fmt: skip
    scrubbed = json.dumps(SCRUB(event))
    markers = [f"{c}-secret" for c in "qhceukbdvp"] + ["4242 4242", "call 4242"]
    assert [m for m in markers if m in scrubbed] == []
    assert event["request"]["query_string"] == f"token={FILTERED}&page=2"
    assert event["request"]["headers"]["Accept"] == "application/json"
    assert event["extra"]["count"] == 3
    assert event["event_id"] == "4242424242424242aaaaaaaaaaaaaaaa"  # ids are never rewritten
    assert event["contexts"]["trace"]["trace_id"] == "1234567890123456789012345678901a"
    assert event["tags"] == {"page": "2"}


def test_the_kit_applies_the_servers_credential_table() -> None:
    """Each credential under a harmless key everywhere: the kit sends none of them, so the
    server's table, run on what the kit sends, finds nothing left to remove."""
    event = Scrubber()(event_carrying(SECRETS))
    sent = json.dumps(event)
    assert [name for name, core in SECRET_CORES.items() if json.dumps(core)[1:-1] in sent] == []
    leftovers = [redact_secrets(text)[1] for text in strings_in(event)]
    assert [rules for rules in leftovers if rules] == []
    assert event["extra"]["note_stripe-key"] == FILTERED
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["vars"]["local_jwt"] == FILTERED


def test_the_kit_keeps_every_lookalike() -> None:
    event = Scrubber()(event_carrying(LOOKALIKES))
    assert event["extra"] == {f"note_{name}": value for name, value in LOOKALIKES.items()}
    assert event["exception"]["values"][0]["value"] == " | ".join(LOOKALIKES.values())


def strings_in(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings_in(value)]
    if isinstance(node, list):
        return [text for value in node for text in strings_in(value)]
    return []

"""User feedback items, new and legacy, into one shape: pure processing."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from vedette.domain.envelope import parse_envelope
from vedette.domain.processed import Outcome
from vedette.processing.pipeline import ProcessingConfig, process_envelope

RECEIVED = 1_795_885_560.0
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
FEEDBACK_ID = "1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a"

# As @sentry/browser's captureFeedback sends it (a screenshot attachment follows).
FEEDBACK_EVENT: dict[str, Any] = {
    "event_id": FEEDBACK_ID,
    "timestamp": RECEIVED - 5,
    "type": "feedback",
    "platform": "javascript",
    "level": "info",
    "release": "shop@2.0",
    "environment": "production",
    "contexts": {
        "feedback": {
            "message": "The checkout button does nothing",
            "contact_email": "ann@example.com",
            "name": "Ann",
            "url": "https://shop.example/checkout",
            "associated_event_id": EVENT_ID,
            "source": "widget",
        }
    },
}


def process(*items: tuple[dict[str, Any], bytes], header: bytes = b"{}") -> Any:
    parts = [header]
    for item_header, payload in items:
        parts += [orjson.dumps({**item_header, "length": len(payload)}), payload]
    envelope = parse_envelope(b"\n".join(parts) + b"\n")
    return process_envelope(envelope, RECEIVED, None, ProcessingConfig())


def test_a_feedback_event_with_its_screenshot() -> None:
    result = process(
        ({"type": "feedback"}, orjson.dumps(FEEDBACK_EVENT)),
        ({"type": "attachment", "filename": "screenshot.png"}, b"\x89PNG..."),
        header=orjson.dumps({"event_id": FEEDBACK_ID}),
    )
    [found] = result.feedback
    assert (found.feedback_id, found.event_id, found.source) == (FEEDBACK_ID, EVENT_ID, "feedback")
    assert (found.name, found.email) == ("Ann", "ann@example.com")
    assert found.comments == "The checkout button does nothing"
    assert (found.url, found.release, found.environment) == (
        "https://shop.example/checkout", "shop@2.0", "production",
    )  # fmt: skip
    assert found.timestamp == RECEIVED - 5
    assert [(a.event_id, a.name) for a in result.attachments] == [(FEEDBACK_ID, "screenshot.png")]
    assert Outcome("feedback", "accepted", "", 1) in result.outcomes
    assert result.errors == []  # feedback is not an error event


def test_a_legacy_user_report() -> None:
    report = {"event_id": EVENT_ID, "name": "Bob", "email": "bob@example.com", "comments": "Boom"}
    result = process(({"type": "user_report"}, orjson.dumps(report)))
    [found] = result.feedback
    assert (found.event_id, found.source, found.name, found.comments) == (
        EVENT_ID, "user_report", "Bob", "Boom",
    )  # fmt: skip
    assert found.timestamp == RECEIVED
    again = process(({"type": "user_report"}, orjson.dumps(report))).feedback[0]
    assert again.feedback_id == found.feedback_id  # a re-delivery is the same report
    assert result.outcomes == [Outcome("user_report_v2", "accepted", "", 1)]


def test_feedback_falls_back_to_the_user_of_the_event() -> None:
    event = {
        **FEEDBACK_EVENT,
        "contexts": {"feedback": {"message": "hi"}},
        "user": {"email": "u@example.com", "username": "u"},
    }
    [found] = process(({"type": "feedback"}, orjson.dumps(event))).feedback
    assert (found.name, found.email, found.event_id) == ("u", "u@example.com", None)


@pytest.mark.parametrize(
    ("item_type", "payload", "reason"),
    [
        ("user_report", {"name": "x", "comments": "y"}, "missing_event_id"),
        ("user_report", {"event_id": "nope", "comments": "y"}, "missing_event_id"),
        ("user_report", {"event_id": EVENT_ID, "comments": "  "}, "missing_comments"),
        ("feedback", {"event_id": FEEDBACK_ID}, "missing_feedback_context"),
        ("feedback", {"contexts": {"feedback": {"name": "x"}}}, "missing_feedback_message"),
    ],
)
def test_invalid_feedback(item_type: str, payload: dict[str, Any], reason: str) -> None:
    result = process(({"type": item_type}, orjson.dumps(payload)))
    assert result.feedback == []
    assert [(o.outcome, o.reason) for o in result.outcomes] == [("invalid", reason)]


def test_the_page_url_of_feedback_is_scrubbed_as_a_request_url_is() -> None:
    event = {**FEEDBACK_EVENT, "contexts": {"feedback": {
        **FEEDBACK_EVENT["contexts"]["feedback"],
        "url": "https://shop.example/reset?token=RESET-1&sessionid=S-2&page=3",
        "message": "my api_key=K-3 stopped working",
    }}}  # fmt: skip
    result = process(({"type": "feedback"}, orjson.dumps(event)),
                     header=orjson.dumps({"event_id": FEEDBACK_ID}))  # fmt: skip
    [found] = result.feedback
    assert found.url == "https://shop.example/reset?token=[Filtered]&sessionid=[Filtered]&page=3"
    assert found.comments == "my api_key=[Filtered] stopped working"

"""``send_feedback``: the browser SDKs' ``captureFeedback`` for a Python service, sent through
the SDK's own transport as a ``feedback`` item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.kit.recording import RecordingTransport

from vedette.kit import send_feedback


def test_feedback_is_one_item_linked_to_its_event(
    monitor: Callable[..., RecordingTransport],
) -> None:
    transport = monitor(environment="staging", app_version="shop@4.2.0")
    event_id = "c0ffee00" * 4
    feedback_id = send_feedback(
        "  The page froze after paying  ", name="Ada", event_id=event_id, email=None
    )
    [item] = transport.items("feedback")
    assert item["event_id"] == feedback_id and item["type"] == "feedback"
    assert item["contexts"]["feedback"] == {
        "message": "The page froze after paying",
        "name": "Ada",
        "associated_event_id": event_id,
    }
    assert (item["release"], item["environment"]) == ("shop@4.2.0", "staging")


def test_long_words_are_bounded(monitor: Callable[..., Any]) -> None:
    transport = monitor()
    send_feedback("x" * 10_000, name="n" * 500, email="e" * 500 + "@example.com")
    feedback = transport.items("feedback")[0]["contexts"]["feedback"]
    assert len(feedback["message"]) == 4096
    assert len(feedback["name"]) == len(feedback["contact_email"]) == 128


def test_nothing_is_sent_without_words_or_without_monitoring(
    monitor: Callable[..., RecordingTransport],
) -> None:
    assert send_feedback("ignored while monitoring is off") is None
    transport = monitor()
    assert send_feedback("   ") is None
    assert transport.items("feedback") == []

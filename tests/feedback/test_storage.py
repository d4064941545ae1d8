"""Feedback stored once on both engines and linked to the issue of its event, whichever of the
two arrived first."""

from __future__ import annotations

import orjson

from vedette.domain.envelope import parse_envelope
from vedette.domain.feedback import user_report
from vedette.domain.processed import ProcessedEnvelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.storage import accounts, feedback
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed

RECEIVED = 1_795_885_560.0
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"


def processed(item_type: str, payload: dict[str, object]) -> ProcessedEnvelope:
    body = orjson.dumps(payload)
    header = orjson.dumps({"type": item_type, "length": len(body)})
    envelope = parse_envelope(orjson.dumps({"event_id": EVENT_ID}) + b"\n" + header + b"\n" + body)
    return process_envelope(envelope, RECEIVED, None, ProcessingConfig())


def test_feedback_before_its_event_is_linked_once_the_event_is_stored(db: Database) -> None:
    report = {"event_id": EVENT_ID, "name": "Bob", "email": "b@example.com", "comments": "Boom"}
    with db.write() as conn:
        pid = accounts.create_project(conn, "acme", "feedback").id
        for _ in range(2):
            store_processed(conn, [(pid, processed("user_report", report))], RECEIVED)
        [alone] = feedback.list_feedback(conn, pid, limit=10)
        assert (alone.comments, alone.group_id) == ("Boom", None)
        error = {"message": "boom", "level": "error", "timestamp": RECEIVED}
        [outcome] = store_processed(conn, [(pid, processed("event", error))], RECEIVED)
        [linked] = feedback.list_feedback(conn, pid, limit=10)
        assert linked.group_id == outcome.group_id
        assert [f.id for f in feedback.issue_feedback(conn, outcome.group_id)] == [linked.id]


def test_a_report_through_the_api_is_stored_once(db: Database) -> None:
    payload = {"event_id": EVENT_ID, "name": "Ann", "email": "a@example.com", "comments": "Hi"}
    with db.write() as conn:
        pid = accounts.create_project(conn, "acme", "api-feedback").id
        first = feedback.add_feedback(conn, pid, user_report(payload, RECEIVED, "api"))
        again = feedback.add_feedback(conn, pid, user_report(payload, RECEIVED + 1, "api"))
        assert first == again
        assert (first.source, first.name, first.timestamp) == ("api", "Ann", RECEIVED)
        assert len(feedback.list_feedback(conn, pid, limit=10)) == 1

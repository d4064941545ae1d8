"""What is answered 200 is kept: stored, or counted as a named outcome, never lost later.

Each hostile item rides in an envelope beside a real event (the canary): before these fixes
the worker failed to store such an envelope and dead-lettered all of it, the event included,
and retried the batch around it one entry at a time, which stalled every other project.
Against a live server over HTTP, on both engines.
"""

from __future__ import annotations

import gzip
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import orjson
import pytest
import zstandard
from sqlalchemy import func, select
from tests.conftest import LiveVedette, ProjectHandle
from tests.e2e.crash_stream import stored_counts

from vedette.storage.schema import attachments, dead_letters, log_records, outcomes

Item = tuple[dict[str, object], bytes]


def envelope(header: dict[str, object], items: Sequence[Item]) -> bytes:
    lines = [orjson.dumps(header)]
    for item_header, payload in items:
        lines += [orjson.dumps({**item_header, "length": len(payload)}), payload]
    return b"\n".join(lines) + b"\n"


def canary(event_id: str) -> Item:
    return {"type": "event"}, orjson.dumps({"event_id": event_id, "message": "canary"})


def json_item(item_type: str, payload: object, **header: object) -> Item:
    return {"type": item_type, **header}, orjson.dumps(payload)


def post(server: LiveVedette, project: ProjectHandle, body: bytes, encoding: str = "") -> int:
    headers = {"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"}
    if encoding:
        headers["Content-Encoding"] = encoding
    response = server.http.post(f"/api/{project.id}/envelope/", content=body, headers=headers)
    return response.status_code


def dead_lettered(server: LiveVedette, project: ProjectHandle) -> int:
    with server.db.read() as conn:
        query = select(func.count()).where(dead_letters.c.project_id == project.id)
        return int(conn.execute(query).scalar_one())


def outcome_totals(server: LiveVedette, project: ProjectHandle) -> dict[tuple[str, ...], int]:
    with server.db.read() as conn:
        rows = conn.execute(
            select(outcomes.c.category, outcomes.c.outcome, outcomes.c.reason, outcomes.c.quantity)
            .where(outcomes.c.project_id == project.id)
        )  # fmt: skip
        totals: dict[tuple[str, ...], int] = {}
        for category, outcome, reason, quantity in rows:
            key = (category, outcome, reason)
            totals[key] = totals.get(key, 0) + quantity
        return totals


def send_beside_canaries(
    server: LiveVedette, project: ProjectHandle, items: dict[str, Item]
) -> None:
    """Each item in an envelope of its own beside a canary event; then every canary is
    stored and nothing of the project is dead-lettered."""
    canaries = {}
    for name, item in items.items():
        event_id = uuid.uuid4().hex
        canaries[name] = event_id
        assert post(server, project, envelope({}, [canary(event_id), item])) == 200, name
    server.wait_processed()
    stored = stored_counts(server, project)
    assert {name for name, event_id in canaries.items() if event_id not in stored} == set()
    assert dead_lettered(server, project) == 0


def now_iso() -> str:
    return datetime.fromtimestamp(time.time(), UTC).isoformat().replace("+00:00", "Z")


HUGE = 2**64 - 1


def hostile_items() -> dict[str, Item]:
    huge_float = 1e300
    schedule = {"type": "crontab", "value": "0 * * * *"}
    return {
        "item_count past the item's size": json_item("zz", {}, item_count=HUGE),
        "client report quantity": json_item(
            "client_report",
            {
                "discarded_events": [
                    {"reason": "queue_overflow", "category": "error", "quantity": HUGE},
                    {"reason": "queue_overflow", "category": "error", "quantity": 5},
                ]
            },
        ),
        "session seq": json_item(
            "session",
            {
                "sid": uuid.uuid4().hex,
                "status": "ok",
                "started": now_iso(),
                "seq": huge_float,
                "attrs": {"release": "shop@1"},
            },
        ),
        "session aggregate count": json_item(
            "sessions",
            {
                "aggregates": [{"started": now_iso(), "exited": huge_float}],
                "attrs": {"release": "shop@1"},
            },
        ),
        "check-in threshold": json_item(
            "check_in",
            {
                "check_in_id": uuid.uuid4().hex,
                "monitor_slug": "nightly",
                "status": "ok",
                "monitor_config": {"schedule": schedule, "failure_issue_threshold": huge_float},
            },
        ),
        "check-in interval": json_item(
            "check_in",
            {
                "check_in_id": uuid.uuid4().hex,
                "monitor_slug": "hourly",
                "status": "ok",
                "monitor_config": {
                    "schedule": {"type": "interval", "value": huge_float, "unit": "minute"}
                },
            },
        ),
        "OTLP log integers": json_item(
            "otel_log",
            {
                "timeUnixNano": "9" * 400,
                "body": {"stringValue": "kept"},
                "attributes": [
                    {"key": "n", "value": {"intValue": "9" * 5000}},
                    {"key": "ok", "value": {"intValue": "42"}},
                ],
            },
        ),
    }


def test_items_with_numbers_out_of_range_leave_the_rest_of_the_envelope_stored(
    live_vedette: LiveVedette,
) -> None:
    project = live_vedette.create_project()
    send_beside_canaries(live_vedette, project, hostile_items())
    totals = outcome_totals(live_vedette, project)
    assert totals[("error", "client_discard", "queue_overflow")] == 5
    assert max(totals.values()) < 2**31, "no outcome takes a client's count on trust"
    with live_vedette.db.read() as conn:
        logs = conn.execute(
            select(log_records.c.body).where(log_records.c.project_id == project.id)
        ).all()
    assert [row.body for row in logs] == ["kept"]


def test_every_attachment_of_an_event_is_kept_and_an_orphan_is_counted(
    live_vedette: LiveVedette,
) -> None:
    project = live_vedette.create_project()
    event_id = uuid.uuid4().hex
    long_types = {"content_type": "text/" + "x" * 300, "attachment_type": "event." + "y" * 300}
    same_name = [
        ({"type": "attachment", "filename": "a.txt", **long_types}, b"%d" % n) for n in range(3)
    ]
    assert post(live_vedette, project, envelope({}, [canary(event_id), *same_name])) == 200
    orphan = ({"type": "attachment", "filename": "lost.txt"}, b"no event")
    assert post(live_vedette, project, envelope({}, [orphan])) == 200
    live_vedette.wait_processed()

    with live_vedette.db.read() as conn:
        rows = conn.execute(
            select(attachments.c.name, attachments.c.data, attachments.c.content_type)
            .where(attachments.c.project_id == project.id)
            .order_by(attachments.c.name)
        ).all()
    assert [(r.name, r.data) for r in rows] == [
        ("a (2).txt", b"1"), ("a (3).txt", b"2"), ("a.txt", b"0"),
    ]  # fmt: skip
    assert {len(r.content_type) for r in rows} == {128}  # its column's length
    totals = outcome_totals(live_vedette, project)
    assert totals[("attachment", "accepted", "")] == 3
    assert totals[("attachment", "invalid", "no_event_id")] == 1


def _gzip_members(*parts: bytes) -> bytes:
    return b"".join(gzip.compress(part) for part in parts)


def _zstd_frames(*parts: bytes) -> bytes:
    return b"".join(zstandard.ZstdCompressor().compress(part) for part in parts)


@pytest.mark.parametrize(("encoding", "join"), [("gzip", _gzip_members), ("zstd", _zstd_frames)])
def test_a_body_of_several_compressed_parts_is_read_to_its_end(
    live_vedette: LiveVedette, encoding: str, join: Callable[[bytes, bytes], bytes]
) -> None:
    """gzip members and zstd frames one after the other decode to one envelope; the old
    decoders answered 200 for the first part alone and dropped the attachment in the second."""
    project = live_vedette.create_project()
    event_id = uuid.uuid4().hex
    first = envelope({"event_id": event_id}, [canary(event_id)])
    second = envelope({}, [({"type": "attachment", "filename": "b.txt"}, b"second part")])
    second = second.split(b"\n", 1)[1]  # its items only: the envelope goes on
    assert post(live_vedette, project, join(first, second), encoding) == 200
    live_vedette.wait_processed()
    with live_vedette.db.read() as conn:
        names = conn.execute(
            select(attachments.c.name).where(attachments.c.project_id == project.id)
        ).scalars()
        assert list(names) == ["b.txt"]


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(b"{}\n") + b"trailing bytes"),
        ("zstd", zstandard.ZstdCompressor().compress(b"{}\n" * 5000)[:-20]),
    ],
    ids=["gzip with bytes after it", "truncated zstd"],
)
def test_a_compressed_body_with_a_bad_end_is_refused(
    live_vedette: LiveVedette, encoding: str, body: bytes
) -> None:
    project = live_vedette.create_project()
    assert post(live_vedette, project, body, encoding) == 400


def long_string_items(text: str) -> dict[str, Item]:
    """Every string a client sends that lands in a column of bounded length (PostgreSQL
    refuses a longer value where SQLite keeps it)."""
    now = time.time()
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    common = {"release": text, "environment": text, "platform": text, "level": text}
    return {
        "error event": json_item(
            "event",
            {**common, "event_id": uuid.uuid4().hex, "transaction": text, "logger": text,
             "message": "long", "tags": {text: text}, "user": {"id": text, "email": text},
             "exception": {"values": [{"type": text, "value": text}]}},
        ),
        "transaction": json_item(
            "transaction",
            {**common, "event_id": uuid.uuid4().hex, "type": "transaction", "transaction": text,
             "start_timestamp": now - 1, "timestamp": now,
             "contexts": {"trace": {"trace_id": trace_id, "span_id": span_id, "op": text}},
             "spans": [{"trace_id": trace_id, "span_id": uuid.uuid4().hex[:16],
                        "parent_span_id": span_id, "op": text, "description": text,
                        "start_timestamp": now - 0.5, "timestamp": now}]},
        ),
        "session": json_item(
            "session",
            {"sid": uuid.uuid4().hex, "init": True, "status": "exited", "started": now_iso(),
             "attrs": {"release": text, "environment": text}},
        ),
        "check-in": json_item(
            "check_in",
            {"check_in_id": uuid.uuid4().hex, "monitor_slug": text, "status": "ok",
             "environment": text, "release": text,
             "monitor_config": {"schedule": {"type": "crontab", "value": "0 * * * *"},
                                "timezone": text}},
        ),
        "log": json_item(
            "log",
            {"items": [{"timestamp": now, "level": text, "body": text, "trace_id": trace_id,
                        "attributes": {text: {"type": "string", "value": text}}}]},
            item_count=1, content_type="application/vnd.sentry.items.log+json",
        ),
        "feedback": json_item(
            "feedback",
            {**common, "event_id": uuid.uuid4().hex, "timestamp": now,
             "contexts": {"feedback": {"message": text, "name": text, "contact_email": text,
                                       "url": text}}},
        ),
    }  # fmt: skip


def test_strings_longer_than_their_columns_are_cut_not_refused(
    live_vedette: LiveVedette,
) -> None:
    project = live_vedette.create_project()
    send_beside_canaries(live_vedette, project, long_string_items("é" + "x" * 5000))
    outcomes_seen = {key[:2] for key in outcome_totals(live_vedette, project)}
    assert all(outcome == "accepted" for _, outcome in outcomes_seen), outcomes_seen

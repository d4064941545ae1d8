"""The issue detail and search over the real API routes, in process (SQL can be watched)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from tests.performance.traffic import ApiClient, api_client, create_project, envelope, ingest

from vedette.storage.database import Database


def error_event(user: dict[str, str], value: str = "'sku'") -> bytes:
    payload = {
        "event_id": uuid.uuid4().hex,
        "platform": "python",
        "timestamp": time.time(),
        "exception": {"values": [{"type": "KeyError", "value": value}]},
        "user": user,
    }
    return envelope(("event", payload))


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements the database runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def api(db: Database) -> Iterator[ApiClient]:
    project = create_project(db)
    users = [{"id": "1", "email": "ann@example.com"}, {"id": "2"}, {"email": "bob@example.com"}]
    ingest(db, project.id, [error_event(u) for u in [*users, users[0]]], received=time.time())
    with api_client(db, project) as client:
        yield client


def test_the_issue_detail_counts_its_users_once(db: Database, api: ApiClient) -> None:
    [issue] = api.get("/issues/")
    path = f"/api/0/issues/{issue['id']}/"
    for method, body in (("GET", None), ("PUT", {"status": "resolved"})):
        with statements(db) as seen:
            response = api.request(method, path, json=body)
        assert response.status_code == 200, response.text
        assert response.json()["userCount"] == 3
        assert sum("group_users" in s for s in seen) == 1, (method, seen)
    assert response.json()["status"] == "resolved"


def test_a_user_is_found_by_email_even_when_identified_by_id(api: ApiClient) -> None:
    def found(query: str) -> int:
        return len(api.get("/issues/", query=query))

    assert found("user.email:ann@example.com") == 1  # the user tag is id:1
    assert found("user.email:bob@example.com") == 1  # the user tag is email:bob@...
    assert found("user.id:1") == 1
    assert found("user.email:nobody@example.com") == 0
    assert found("!user.email:ann@example.com") == 0

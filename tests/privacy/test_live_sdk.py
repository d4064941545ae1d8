"""The real sentry-sdk (include_local_variables, and send_default_pii in its 2.75 form,
``data_collection`` with user info and frame variables: the old flag warns) against a live server:
credentials in every place an event carries them are not stored, look-alikes are stored intact,
and the project's settings change what is stored, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import sentry_sdk
from tests.conftest import LiveVedette, ProjectHandle
from tests.privacy.corpus import LOOKALIKES, SECRET_CORES, SECRETS

pytestmark = pytest.mark.e2e
CATEGORY = "privacy-test"


def charge(gateway: dict[str, str], message: str) -> None:
    """Raises with ``gateway`` (harmless names, every value) among its local variables."""
    attempt = dict(gateway)
    raise ValueError(f"gateway refused: {message} ({len(attempt)} values)")


def send(project: ProjectHandle, values: dict[str, str], **extra_event: Any) -> str:
    """One error event carrying ``values`` in frame variables, extra, contexts, breadcrumbs,
    headers, the query string, cookies and the exception's value; its id."""
    client = sentry_sdk.Client(
        dsn=project.dsn,
        default_integrations=False,
        include_local_variables=True,
        data_collection={"user_info": True, "stack_frame_variables": True},
    )
    joined = " | ".join(values.values())

    def add_request(event: dict[str, Any], _hint: Any) -> dict[str, Any]:
        event["request"] = {
            "url": "https://shop.example/pay",
            "method": "POST",
            "query_string": "&".join(f"q{i}={v}" for i, v in enumerate(values.values())),
            "headers": {f"X-Note-{i}": v for i, v in enumerate(values.values())},
            "cookies": {f"pref{i}": v for i, v in enumerate(values.values())},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        }
        event.update(extra_event)
        return event

    try:
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            scope.add_event_processor(add_request)
            scope.set_user({"id": "u-1", "ip_address": "203.0.113.9"})
            scope.set_context("gateway", dict(values))
            for name, value in values.items():
                scope.set_extra(f"note_{name}", value)
                scope.add_breadcrumb(category=CATEGORY, message=value, data={"target": value})
            try:
                charge(values, joined)
            except ValueError as error:
                event_id = sentry_sdk.capture_exception(error)
        assert event_id is not None
        return event_id
    finally:
        client.close(timeout=10)


def ours(event: dict[str, Any]) -> list[dict[str, Any]]:
    """This test's breadcrumbs (a scope forked from this process's may carry earlier ones)."""
    return [c for c in event["breadcrumbs"]["values"] if c.get("category") == CATEGORY]


def stored(server: LiveVedette, project: ProjectHandle, event_id: str) -> dict[str, Any]:
    server.wait_processed()
    path = f"/api/0/projects/{project.org}/{project.slug}/events/{event_id}/"
    return server.api_get(path)  # type: ignore[no-any-return]


def without_meta(event: dict[str, Any]) -> str:
    return orjson.dumps({k: v for k, v in event.items() if k != "_meta"}).decode()


def chunks(values: dict[str, str]) -> list[dict[str, str]]:
    """The SDK sends at most 10 entries of a mapping (extra, a context, frame variables)."""
    items = list(values.items())
    return [dict(items[start : start + 6]) for start in range(0, len(items), 6)]


@pytest.mark.parametrize("chunk", chunks(SECRETS), ids=lambda c: ",".join(c))
def test_no_credential_is_stored_anywhere(live_vedette: LiveVedette, chunk: dict[str, str]) -> None:
    project = live_vedette.create_project()
    event = stored(live_vedette, project, send(project, chunk))
    body = without_meta(event)
    encoded = {name: orjson.dumps(SECRET_CORES[name]).decode()[1:-1] for name in chunk}
    assert [name for name, core in encoded.items() if core in body] == []
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert frame["function"] == "charge" and "gateway" in frame["vars"]
    assert len(event["extra"]) == len(chunk) and len(ours(event)) == len(chunk)
    remarks = orjson.dumps(event["_meta"]).decode()
    assert all(f"@{name.split('-restricted')[0]}" in remarks or name.startswith(("github-fine",
               "stripe-restricted")) for name in chunk)  # fmt: skip


@pytest.mark.parametrize("chunk", chunks(LOOKALIKES), ids=lambda c: ",".join(c))
def test_lookalikes_are_stored_intact(live_vedette: LiveVedette, chunk: dict[str, str]) -> None:
    project = live_vedette.create_project()
    event = stored(live_vedette, project, send(project, chunk))
    assert event["extra"] == {f"note_{name}": value for name, value in chunk.items()}
    assert event["contexts"]["gateway"] == {**chunk, "type": "gateway"}
    assert event["exception"]["values"][0]["value"].startswith(
        "gateway refused: " + " | ".join(chunk.values())
    )
    assert [c["message"] for c in ours(event)] == list(chunk.values())
    # Nothing remarked, but in breadcrumbs this process recorded before (kit tests log secrets).
    meta = {k: v for k, v in event.get("_meta", {}).items() if k != "breadcrumbs"}
    assert '"rem"' not in orjson.dumps(meta).decode()


def configure(server: LiveVedette, project: ProjectHandle, **fields: Any) -> dict[str, Any]:
    """Before the project's first event, so that no worker holds older settings."""
    return server.api_put(f"/api/0/projects/{project.org}/{project.slug}/", fields)  # type: ignore[no-any-return]


def test_sensitive_fields_safe_fields_and_ip_scrubbing(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    answer = configure(
        live_vedette, project, sensitiveFields=["order_note"], safeFields=["session_hint"],
        scrubIPAddresses=True,
    )  # fmt: skip
    assert answer["sensitiveFields"] == ["order_note"] and answer["scrubIPAddresses"] is True
    values = {"order_note": "leave at the door", "session_hint": "keep-me", "plain": "hello"}
    event = stored(live_vedette, project, send(project, values))
    assert event["extra"]["note_order_note"] == "[Filtered]"  # the key holds the field
    assert event["extra"]["note_plain"] == "hello"
    assert event["contexts"]["gateway"]["session_hint"] == "keep-me"  # a safe field
    assert "ip_address" not in event.get("user", {})
    assert "REMOTE_ADDR" not in event["request"].get("env", {})
    assert "203.0.113.9" not in without_meta(event)


def test_advanced_rules_change_what_is_stored(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    rules = {
        "rules": {"orders": {"type": "pattern", "pattern": r"ORD-\d+",
                             "redaction": {"method": "replace", "text": "[order]"}}},
        "applications": {
            "extra.**": ["orders"],
            "$http.headers.x-note-1": ["@anything:remove"],
            "$frame.vars": ["@email:mask"],
            "contexts.gateway.b": ["@anything:hash"],
        },
    }  # fmt: skip
    configure(live_vedette, project, relayPiiConfig=orjson.dumps(rules).decode())
    values = {"a": "order ORD-2026 shipped", "b": "ada@example.com"}
    event = stored(live_vedette, project, send(project, values))
    assert event["extra"]["note_a"] == "order [order] shipped"
    headers = dict(event["request"]["headers"])
    assert headers.get("X-Note-1") is None and headers["X-Note-0"] == "order ORD-2026 shipped"
    frame_vars = orjson.dumps(event["exception"]["values"][0]["stacktrace"]["frames"][-1]["vars"])
    assert b"ada@example.com" not in frame_vars and b"***************" in frame_vars
    hashed = event["contexts"]["gateway"]["b"]
    assert len(hashed) == 40 and hashed.isupper()
    assert ["orders", "s"] in event["_meta"]["extra"]["note_a"][""]["rem"]


def test_an_organization_requirement_beats_the_project(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project(org="privacy-strict")
    live_vedette.api_put("/api/0/organizations/privacy-strict/", {"scrubIPAddresses": True})
    configure(live_vedette, project, scrubIPAddresses=False)
    event = stored(live_vedette, project, send(project, {"plain": "hello"}))
    assert "ip_address" not in event.get("user", {})
    organization = live_vedette.api_get("/api/0/organizations/privacy-strict/")
    assert organization["slug"] == "privacy-strict" and organization["scrubIPAddresses"] is True


def test_the_settings_api_refuses_what_it_cannot_apply(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    path = f"/api/0/projects/{project.org}/{project.slug}/"
    response = live_vedette.http.put(
        path, json={"relayPiiConfig": '{"applications": {"$string": ["@nope"]}}'},
        headers={"Authorization": f"Bearer {live_vedette.token}"},
    )  # fmt: skip
    assert response.status_code == 400 and "relayPiiConfig" in response.json()["detail"]
    assert live_vedette.api_get(path)["relayPiiConfig"] is None

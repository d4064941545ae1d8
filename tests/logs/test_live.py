"""The real sentry-sdk with ``enable_logs`` against a live server, on both engines:
``sentry_sdk.logger`` and Python ``logging`` through the SDK's logging integration, each record
stored once and found through the API; the Logs page and the trace's logs over HTTP."""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import parse_qsl

import pytest
import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration
from tests.conftest import LiveVedette, ProjectHandle
from tests.ui.conftest import Account, make_account, signed_in

pytestmark = pytest.mark.e2e


def send_logs(dsn: str, marker: str) -> str:
    """Two records from sentry_sdk.logger, one from logging and an error, in one trace; the
    trace id."""
    client = sentry_sdk.Client(
        dsn=dsn,
        default_integrations=False,
        integrations=[LoggingIntegration(sentry_logs_level=logging.INFO, event_level=None)],
        enable_logs=True,
        release="shop@3.1",
        environment="production",
    )
    try:
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            trace_id = scope.get_active_propagation_context().trace_id
            sentry_sdk.logger.info(
                "Order {order_id} paid by {customer} " + marker, order_id=42, customer="acme"
            )
            sentry_sdk.logger.error("Card declined " + marker, attributes={"card.brand": "visa"})
            shipping = logging.getLogger("shop.shipping")
            shipping.setLevel(logging.INFO)
            shipping.warning("Carrier %s is slow %s", "DHL", marker)
            try:
                raise ValueError(f"payment failed {marker}")
            except ValueError as error:
                sentry_sdk.capture_exception(error)  # an issue in the same trace
        return str(trace_id)
    finally:
        client.close(timeout=10)


def logs_of(server: LiveVedette, project: ProjectHandle, query: str) -> list[dict[str, Any]]:
    path = f"/api/0/projects/{project.org}/{project.slug}/logs/"
    rows: list[dict[str, Any]] = server.api_get(path, query=query, statsPeriod="24h")
    return rows


Sent = tuple[Account, str, str]


@pytest.fixture
def sent(live_vedette: LiveVedette) -> Sent:
    """A project with a user of its own, its logs (the account, their marker, their trace)."""
    account = make_account(live_vedette, "logs")
    marker = f"m{uuid.uuid4().hex[:8]}"
    trace_id = send_logs(account.project.dsn, marker)
    live_vedette.wait_processed()
    return account, marker, trace_id


def test_sdk_logs_are_stored_once_and_searchable(live_vedette: LiveVedette, sent: Sent) -> None:
    account, marker, trace_id = sent
    project = account.project
    rows = logs_of(live_vedette, project, marker)
    assert [r["level"] for r in rows] == ["warn", "error", "info"]  # newest first
    assert len({r["id"] for r in rows}) == 3
    slow, declined, paid = rows
    assert paid["message"] == f"Order 42 paid by acme {marker}"
    assert paid["template"] == "Order {order_id} paid by {customer} " + marker
    assert paid["parameters"] == {"order_id": 42, "customer": "acme"}
    assert paid["attributes"]["sentry.message.parameter.order_id"] == 42
    assert (paid["release"], paid["environment"]) == ("shop@3.1", "production")
    assert all(r["trace_id"] == trace_id for r in rows)
    assert declined["attributes"]["card.brand"] == "visa"
    assert slow["message"] == f"Carrier DHL is slow {marker}"
    assert slow["attributes"]["logger.name"] == "shop.shipping"
    assert slow["parameters"] == {"0": "DHL", "1": marker}

    assert [r["id"] for r in logs_of(live_vedette, project, f"level:error {marker}")] == [
        declined["id"]
    ]
    assert [r["id"] for r in logs_of(live_vedette, project, "card.brand:visa")] == [declined["id"]]
    assert len(logs_of(live_vedette, project, f"trace:{trace_id}")) == 3
    stats = live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/stats/")
    assert stats["accepted"]["log_item"] == 3


def test_pages_follow_the_link_header(live_vedette: LiveVedette, sent: Sent) -> None:
    project = sent[0].project
    path = f"/api/0/projects/{project.org}/{project.slug}/logs/"
    headers = {"Authorization": f"Bearer {live_vedette.token}"}
    first = live_vedette.http.get(path, params={"limit": 2}, headers=headers)
    assert first.status_code == 200 and len(first.json()) == 2
    assert 'results="true"' in first.headers["link"]
    cursor = first.headers["link"].rpartition('cursor="')[2].rstrip('"')
    second = live_vedette.http.get(path, params={"limit": 2, "cursor": cursor}, headers=headers)
    assert len(second.json()) == 1
    assert 'results="false"' in second.headers["link"]
    bad = live_vedette.http.get(path, params={"query": "level:loud"}, headers=headers)
    assert bad.status_code == 400


def test_the_logs_page(live_vedette: LiveVedette, sent: Sent) -> None:
    account, marker, trace_id = sent
    visitor = signed_in(live_vedette, account)
    base = account.base
    page = visitor.page(f"{base}/logs/", query=f"level:error {marker}")
    assert f"Card declined {marker}" in page.text
    assert f"Carrier DHL is slow {marker}" not in page.text
    assert f"{base}/traces/{trace_id}/" in page.links  # its error is stored: a trace page
    trace_page = visitor.page(f"{base}/traces/{trace_id}/").text
    assert "Logs of this trace" in trace_page
    for message in ("Order 42 paid by acme", "Card declined", "Carrier DHL is slow"):
        assert f"{message} {marker}" in trace_page  # the trace page lists its logs
    [issue] = live_vedette.issues(account.project)
    assert f"{base}/issues/{issue['id']}/" in page.links  # the issue of the same trace
    issue_page = visitor.page(f"{base}/issues/{issue['id']}/")
    assert f"Carrier DHL is slow {marker}" in issue_page.text  # the logs of the event's trace
    trace = visitor.page(f"{base}/logs/", query=f"trace:{trace_id}")
    assert f"Carrier DHL is slow {marker}" in trace.text
    visitor.close()


def send_steps(dsn: str, marker: str, needle_at: int, steps: int = 12) -> None:
    """``steps`` records from sentry_sdk.logger in order, the word ``{marker}needle`` only in
    record ``needle_at`` (0 = the oldest)."""
    client = sentry_sdk.Client(dsn=dsn, default_integrations=False, enable_logs=True)
    try:
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            for n in range(steps):
                needle = f" {marker}needle" if n == needle_at else ""
                sentry_sdk.logger.info(f"Step {n} of {marker}{needle}")
    finally:
        client.close(timeout=10)


def test_a_rare_word_answers_a_partial_scan_and_goes_on(live_vedette: LiveVedette) -> None:
    """12 records, the rare word in the 3rd oldest. With ``scan=4`` each request reads 4
    records: the first answers none, says the scan was partial and gives a cursor, and the
    cursors lead to the record; without it (10,000 records a scan) one request finds it."""
    account = make_account(live_vedette, "logscan")
    marker = f"m{uuid.uuid4().hex[:8]}"
    send_steps(account.project.dsn, marker, needle_at=2)
    live_vedette.wait_processed()
    project = account.project
    path = f"/api/0/projects/{project.org}/{project.slug}/logs/"
    headers = {"Authorization": f"Bearer {live_vedette.token}"}
    params = {"query": f"{marker}needle", "statsPeriod": "24h", "scan": "4"}
    pages: list[tuple[list[str], str | None]] = []
    while True:
        response = live_vedette.http.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(([r["message"] for r in response.json()],
                      response.headers.get("x-vedette-scan")))  # fmt: skip
        if 'results="false"' in response.headers["link"]:
            break
        params["cursor"] = response.headers["link"].rpartition('cursor="')[2].rstrip('"')
    found = f"Step 2 of {marker} {marker}needle"
    assert pages == [([], "partial"), ([], "partial"), ([found], "partial"), ([], None)]

    whole = live_vedette.http.get(
        path, params={"query": f"{marker}needle", "statsPeriod": "24h"}, headers=headers
    )
    assert [r["message"] for r in whole.json()] == [found]
    assert 'results="false"' in whole.headers["link"] and "x-vedette-scan" not in whole.headers
    bad = live_vedette.http.get(path, params={"query": "x", "scan": "0"}, headers=headers)
    assert bad.status_code == 400

    visitor = signed_in(live_vedette, account)
    base = account.base
    page = visitor.page(f"{base}/logs/", query=f"{marker}needle", scan="4")
    assert "Searched the newest 4 records" in page.text and found not in page.text
    for _ in range(2):  # "Search older" twice: the 5th to 8th, then the 9th to 12th newest
        [older] = [link for link in page.links if "cursor=" in link]
        page = visitor.page(f"{base}/logs/", **dict(parse_qsl(older.removeprefix("?"))))
        assert "Searched the next 4 records" in page.text
    assert found in page.text
    visitor.close()

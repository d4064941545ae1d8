"""The Logs page's live tail in Chromium: with "Live" ticked, logs stored after the page was
shown appear on top when they match the search, as text (a hostile body stays text)."""

from __future__ import annotations

import time
import uuid

import orjson
import pytest
from tests.conftest import LiveVedette, ProjectHandle
from tests.ui.conftest import Tab, make_account, send_envelope, signed_in

pytestmark = pytest.mark.e2e


def log_envelope(*records: tuple[str, str]) -> bytes:
    """One log container with (level, body) records, stamped now."""
    now = time.time()
    items = [
        {"timestamp": now, "level": level, "body": body, "trace_id": uuid.uuid4().hex}
        for level, body in records
    ]
    header = {"type": "log", "item_count": len(items),
              "content_type": "application/vnd.sentry.items.log+json"}  # fmt: skip
    return b"\n".join([orjson.dumps({}), orjson.dumps(header), orjson.dumps({"items": items})])


def send_logs(server: LiveVedette, project: ProjectHandle, *records: tuple[str, str]) -> None:
    send_envelope(server, project, log_envelope(*records))
    server.wait_processed()


def test_live_tail_shows_new_matching_logs(live_vedette: LiveVedette, tab: Tab) -> None:
    account = make_account(live_vedette, "tail")
    marker = uuid.uuid4().hex[:8]
    send_logs(live_vedette, account.project, ("info", f"before {marker}"))
    tab.sign_in(account)
    tab.page.goto(f"{account.base}/logs/?level=error")
    assert tab.page.locator("#log-rows tr.empty-row").count() == 1
    tab.page.check("input.live-tail")
    hostile = f"<img src=x onerror=alert(1)> checkout failed {marker}"
    send_logs(
        live_vedette,
        account.project,
        ("info", f"not an error {marker}"),
        ("error", hostile),
    )
    tab.page.locator("#log-rows tr", has_text=f"checkout failed {marker}").wait_for()
    send_logs(live_vedette, account.project, ("error", f"second error {marker}"))
    tab.page.locator("#log-rows tr", has_text=f"second error {marker}").wait_for()
    bodies = tab.page.locator("#log-rows td.mono").all_inner_texts()
    assert [b.split("\n")[0] for b in bodies] == [f"second error {marker}", hostile]  # newest first
    assert tab.page.locator("#log-rows tr.empty-row").count() == 0
    assert tab.dialogs == [] and tab.csp_violations == []


def test_tail_endpoint_answers_rows_after_a_row(live_vedette: LiveVedette) -> None:
    """The fragment the script asks for: rows stored after ``after``, and where to go on."""
    account = make_account(live_vedette, "tailapi")
    visitor = signed_in(live_vedette, account)
    try:
        start = visitor.get(f"{account.base}/logs/tail/", after="0")
        assert start.status_code == 200
        after = start.headers["X-Tail-After"]
        send_logs(live_vedette, account.project, ("warn", "disk almost full"))
        fresh = visitor.get(f"{account.base}/logs/tail/", after=after)
        assert "disk almost full" in fresh.text
        assert int(fresh.headers["X-Tail-After"]) > int(after)
        again = visitor.get(f"{account.base}/logs/tail/", after=fresh.headers["X-Tail-After"])
        assert "<tr" not in again.text
        stranger = live_vedette.http.get(f"{account.base}/logs/tail/", params={"after": "0"})
        assert stranger.status_code in (302, 303)  # signed out: to the login page
    finally:
        visitor.close()

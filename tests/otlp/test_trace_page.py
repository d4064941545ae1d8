"""An OpenTelemetry SDK's trace, exported over OTLP, in Chromium: the trace page shows its
transaction and its spans with our ops and descriptions; the performance page lists it."""

from __future__ import annotations

import uuid

import pytest
from tests.conftest import LiveVedette
from tests.otlp.exporting import send_trace
from tests.ui.conftest import Tab, browser, chromium, make_account, tab

pytestmark = pytest.mark.e2e
__all__ = ["browser", "chromium", "tab"]  # the browser fixtures of tests/ui, used here


def test_otlp_trace_on_the_trace_page(live_vedette: LiveVedette, tab: Tab) -> None:
    account = make_account(live_vedette, "otlp")
    marker = uuid.uuid4().hex[:8]
    trace_id = send_trace(live_vedette, account.project, marker)
    live_vedette.wait_processed()
    tab.sign_in(account)

    tab.page.goto(f"{account.base}/traces/{trace_id}/")
    summary = tab.page.locator("p.muted").first.inner_text()
    assert summary.startswith("1 transaction, 4 spans")
    rows = tab.page.locator(".waterfall details.span-row summary")
    labels = [" ".join(t.split()) for t in rows.all_inner_texts()]
    assert len(labels) == 4
    assert labels[0].startswith(f"http.server POST /checkout/{marker}")
    assert any(t.startswith("db SELECT * FROM carts WHERE id = 7") for t in labels)
    assert any(t.startswith("http.client GET https://pay.example/quote") for t in labels)

    tab.page.goto(f"{account.base}/performance/")
    assert tab.page.get_by_text(f"POST /checkout/{marker}").count() >= 1
    assert tab.dialogs == [] and tab.csp_violations == []

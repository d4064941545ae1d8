"""Ignoring an issue with the issue page's ignore options is recorded in its activity, with who
did it and the option chosen, as the API's ignore is."""

from __future__ import annotations

import pytest
from tests.alerts.sdk import capture_error
from tests.conftest import LiveVedette
from tests.ui.conftest import make_account, signed_in

pytestmark = pytest.mark.e2e


class Checkout(Exception):
    pass


def test_the_ignore_options_record_who_ignored(live_vedette: LiveVedette) -> None:
    account = make_account(live_vedette, "snooze")
    capture_error(account.project.dsn, Checkout("card declined"))
    live_vedette.wait_processed()
    [issue] = live_vedette.issues(account.project)
    visitor = signed_in(live_vedette, account)
    try:
        page = visitor.page(f"{account.base}/issues/{issue['id']}/")
        answer = visitor.post(
            f"{account.base}/issues/{issue['id']}/snooze/",
            {"csrf_token": page.csrf_token, "until": "1h"},
        )
        assert answer.status_code == 303
    finally:
        visitor.close()
    assert live_vedette.api_get(f"/api/0/issues/{issue['id']}/")["status"] == "ignored"
    activity = live_vedette.api_get(f"/api/0/issues/{issue['id']}/activities/")["activity"]
    ignored = [a for a in activity if a["type"] == "set_ignored"]
    assert [(a["user"]["email"], a["data"]) for a in ignored] == [
        (account.email, {"ignoreDuration": 60})
    ]

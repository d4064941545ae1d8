"""A project profiled by the real SDK, seeded once per engine and session, and the browser
fixtures of tests/ui for the profile pages' Playwright check."""

from __future__ import annotations

import copy

import orjson
import pytest
from tests.conftest import LiveVedette, SessionShelf
from tests.profiles.support import FRAMES, envelope_of, run_driver, sampled
from tests.ui.conftest import Account, browser, chromium, make_account, send_envelope, tab  # noqa: F401 (fixtures)

HOSTILE = '<img src=x onerror="alert(1)">render'
HOSTILE_ID = "0f" * 16
ERROR_ID = "1e" * 16


@pytest.fixture
def profiled(live_vedette: LiveVedette, shelf: SessionShelf) -> Account:
    """A user's project holding the real SDK's transaction profile of ``monthly-report``, a
    hostile profile (a function named like markup) and an error whose ``profile`` context
    names the hostile one."""
    return shelf.keep(("profiled", live_vedette.backend), lambda: seed(live_vedette))


def seed(server: LiveVedette) -> Account:
    found = make_account(server, "prof")
    run_driver("transaction", found.project)
    frames = copy.deepcopy(FRAMES)
    frames[0]["function"] = HOSTILE
    payload = sampled(event_id=HOSTILE_ID, timestamp=None)
    payload["profile"]["frames"] = frames
    error = {
        "event_id": ERROR_ID,
        "message": "report failed",
        "contexts": {"profile": {"type": "profile", "profile_id": HOSTILE_ID}},
    }
    body = envelope_of(
        ({"type": "profile"}, orjson.dumps(payload)),
        ({"type": "event"}, orjson.dumps(error)),
    )
    send_envelope(server, found.project, body)
    server.wait_processed()
    return found

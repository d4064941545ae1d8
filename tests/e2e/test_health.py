"""/_health/ tells a load balancer when this process's spool has stopped draining."""

from __future__ import annotations

import time

from tests.conftest import LiveVedette
from tests.e2e.crash_stream import send_errors


def test_health_fails_when_the_spool_is_stuck(own_server: LiveVedette) -> None:
    own_server.start(worker_enabled="false", health_max_spool_age_seconds="0.2")
    assert own_server.http.get("/_health/").status_code == 200
    send_errors(own_server, own_server.create_project(), 1)
    time.sleep(0.4)  # the spool's age past 0.2 s, not a timing assertion
    response = own_server.http.get("/_health/")
    assert response.status_code == 503
    assert "oldest spooled envelope" in response.json()["reason"]

"""The clock the tests run on: the real one, or, in .ci/run's year-ahead pass, a year ahead.

.ci/run runs the ``time_sensitive`` tests a second time under ``faketime -f +365d`` with
VEDETTE_TEST_CLOCK_AHEAD_DAYS=365. This test proves that pass moved the clocks it means to
move: the test process's and the `vedette serve` subprocess's (its HTTP ``Date``), measured
against PostgreSQL's, which runs outside faketime and keeps the real time.
"""

from __future__ import annotations

import os
import time
from email.utils import parsedate_to_datetime

import pytest
from tests.conftest import BACKENDS, LiveVedette, postgres_admin

pytestmark = [
    pytest.mark.time_sensitive,
    pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL keeps the real time"),
]
AHEAD = float(os.environ.get("VEDETTE_TEST_CLOCK_AHEAD_DAYS", "0")) * 86400
SLACK = 120.0


def real_time() -> float:
    with postgres_admin() as admin:
        row = admin.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
    assert row is not None
    return float(row[0])


def test_tests_and_servers_share_the_moved_clock(live_vedette: LiveVedette) -> None:
    real = real_time()
    assert abs(time.time() - AHEAD - real) < SLACK
    response = live_vedette.http.get("/_health/")
    served = parsedate_to_datetime(response.headers["date"]).timestamp()
    assert abs(served - AHEAD - real) < SLACK

"""Release health from ``session`` and ``sessions`` items (docs/protocol.md, "Sessions and
release health")."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.performance.traffic import api_client, create_project, envelope, ingest

from vedette.domain.sessions import SessionUpdate, apply_update
from vedette.storage.database import Database

pytestmark = pytest.mark.time_sensitive

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
# When the corpora were captured: replayed "as received then", they never age out of windows.
CAPTURED = 1795885560.0  # 2026-11-28T17:06:00Z


def update(sid: str, seq: int, status: str, errors: int = 0, init: bool = False) -> SessionUpdate:
    return SessionUpdate(sid, None, init, seq, 100.0, 100.0 + seq, status, errors, "r", "e", None)


@pytest.mark.parametrize(
    ("updates", "total", "unhealthy", "crashed"),
    [
        ([update("a", 0, "ok", init=True), update("a", 1, "exited")], 1, 0, 0),
        # errors are counted once per session, however many updates report them
        (
            [update("a", 0, "ok", 1, True), update("a", 1, "ok", 2), update("a", 2, "exited", 2)],
            1,
            1,
            0,
        ),
        # nothing after a terminal state counts
        ([update("a", 0, "crashed", 1, True), update("a", 5, "abnormal")], 1, 1, 1),
        # an out-of-order (older seq) update is discarded
        (
            [update("a", 0, "ok", init=True), update("a", 7, "exited"), update("a", 3, "crashed")],
            1,
            0,
            0,
        ),
        # an init that arrives late still counts the session, once
        ([update("a", 4, "ok", 1), update("a", 0, "ok", init=True)], 1, 1, 0),
        # browser SDKs: an uncaught error marks the session unhandled: errored, not crashed
        ([update("a", 0, "ok", init=True), update("a", 1, "unhandled", 1)], 1, 1, 0),
        ([update("a", 0, "unhandled", 1, True), update("a", 2, "exited", 1)], 1, 1, 0),
    ],
)
def test_session_state_machine(
    updates: list[SessionUpdate], total: int, unhealthy: int, crashed: int
) -> None:
    state = None
    sums = [0, 0, 0]
    for u in updates:
        new, delta = apply_update(state, u)
        state = new or state
        sums = [sums[0] + delta.total, sums[1] + delta.unhealthy, sums[2] + delta.crashed]
    assert sums == [total, unhealthy, crashed]


def session(
    sid: str,
    status: str,
    *,
    init: bool,
    errors: int = 0,
    seq: int | None = None,
    did: str | None = None,
    release: str = "shop@2.0.0",
    started: float,
) -> bytes:
    payload: dict[str, Any] = {
        "sid": sid,
        "init": init,
        "status": status,
        "errors": errors,
        "started": started,
        "timestamp": started + 5,
        "duration": 5.0,
        "attrs": {"release": release, "environment": "prod"},
    }
    if seq is not None:
        payload["seq"] = seq
    if did is not None:
        payload["did"] = did
    return envelope(("session", payload))


def test_crash_free_rates_and_adoption(db: Database) -> None:
    now = time.time()
    started = now - 600
    project = create_project(db)
    sent: list[bytes] = []
    for n in range(6):  # healthy, two updates each
        sid = str(uuid.uuid4())
        sent += [
            session(sid, "ok", init=True, did=f"u{n}", started=started),
            session(sid, "exited", init=False, seq=2, did=f"u{n}", started=started),
        ]
    for _ in range(2):  # errored, then a clean exit
        sid = uuid.uuid4().hex
        sent += [
            session(sid, "ok", init=True, errors=1, started=started),
            session(sid, "exited", init=False, errors=1, seq=3, started=started),
        ]
    crashed = uuid.uuid4().hex
    sent += [
        session(crashed, "ok", init=True, did="u0", started=started),
        session(crashed, "crashed", init=False, seq=4, did="u0", started=started),
        session(crashed, "exited", init=False, seq=9, did="u0", started=started),
    ]
    sent.append(session(uuid.uuid4().hex, "abnormal", init=True, started=started))
    sent.append(
        envelope(
            (
                "sessions",
                {
                    "attrs": {"release": "shop@2.0.0", "environment": "prod"},
                    "aggregates": [
                        {"started": started, "exited": 20, "errored": 3},
                        {"started": started, "did": "agg-user", "crashed": 2},
                    ],
                },
            )
        )
    )
    sent += [
        session(uuid.uuid4().hex, "exited", init=True, release="shop@1.9.0", started=started)
        for _ in range(5)
    ]
    sent.append(session("x", "ok", init=True, started=now - 6 * 86400))  # too old: dropped
    ingest(db, project.id, sent, received=now, batch=7)
    with api_client(db, project) as api:
        releases = {r["version"]: r for r in api.get("/releases/", statsPeriod="24h")}
    health = releases["shop@2.0.0"]["healthData"]
    assert health["totalSessions"] == 10 + 25
    assert health["sessionsCrashed"] == 1 + 2
    assert health["sessionsAbnormal"] == 1
    assert health["sessionsErrored"] == 2 + 3
    assert health["sessionsHealthy"] == 35 - 3 - 1 - 5
    assert health["crashFreeSessions"] == pytest.approx(100 * (1 - 3 / 35))
    assert health["totalUsers"] == 7  # u0..u5 and agg-user
    assert health["usersCrashed"] == 2  # u0 and agg-user
    assert health["crashFreeUsers"] == pytest.approx(100 * (1 - 2 / 7))
    assert health["adoption"] == pytest.approx(100 * 35 / 40)
    assert releases["shop@1.9.0"]["healthData"]["crashFreeSessions"] == 100.0


def test_python_sdk_corpus_sessions(db: Database) -> None:
    """Application mode (one session, one error, exited) and request-mode aggregates."""
    project = create_project(db)
    files = [
        "session_application.2.envelope",
        "fastapi_transaction.3.envelope",
        "fastapi_unhandled_500.2.envelope",
        "fastapi_http_404.envelope",
    ]
    ingest(
        db,
        project.id,
        [(CORPORA / "sdk-python" / f).read_bytes() for f in files],
        received=CAPTURED,
    )
    with api_client(db, project) as api:
        (release,) = api.get("/releases/", start=str(CAPTURED - 3600), end=str(CAPTURED + 60))
    health = release["healthData"]
    assert release["version"] == "corpora-shop@1.4.2"
    assert health["totalSessions"] == 1 + 2 + 1 + 1
    assert health["sessionsErrored"] == 1
    assert health["sessionsCrashed"] == 1
    assert health["crashFreeSessions"] == pytest.approx(80.0)

"""Cron monitors: schedules, check-ins, and missed / timed-out detection by moving the clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.performance.traffic import api_client, create_project, envelope, ingest

from vedette.domain.schedule import InvalidSchedule, Schedule, parse_crontab
from vedette.spool.worker import Worker, WorkerConfig
from vedette.storage.database import Database

pytestmark = pytest.mark.time_sensitive

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
CAPTURED = 1795885560.0  # 2026-11-28T17:06:00Z, when the corpora were captured


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        (
            Schedule("crontab", "0 2 * * *", timezone="Europe/Vienna"),
            "2026-11-28T17:05:41",
            "2026-11-29T01:00:00",
        ),
        # summer time: Vienna is UTC+2
        (
            Schedule("crontab", "0 2 * * *", timezone="Europe/Vienna"),
            "2026-07-01T12:00:00",
            "2026-07-02T00:00:00",
        ),
        (Schedule("crontab", "*/15 * * * *"), "2026-11-28T17:05:41", "2026-11-28T17:15:00"),
        (Schedule("crontab", "*/15 * * * *"), "2026-11-28T17:15:00", "2026-11-28T17:30:00"),
        (Schedule("crontab", "0 9 * * mon-fri"), "2026-11-28T10:00:00", "2026-11-30T09:00:00"),
        (Schedule("crontab", "@monthly"), "2026-11-28T10:00:00", "2026-12-01T00:00:00"),
        (Schedule("crontab", "0 0 29 2 *"), "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
        # day-of-month OR day-of-week when both are restricted (Vixie cron)
        (Schedule("crontab", "0 12 1 * 1"), "2026-11-28T13:00:00", "2026-11-30T12:00:00"),
        (Schedule("crontab", "0 0 * * 7"), "2026-11-28T13:00:00", "2026-11-29T00:00:00"),
        (Schedule("interval", "10", "minute"), "2026-11-28T17:05:41", "2026-11-28T17:15:00"),
        (Schedule("interval", "1", "month"), "2026-01-31T10:00:30", "2026-02-28T10:00:00"),
        (Schedule("interval", "2", "hour"), "2026-11-28T23:30:00", "2026-11-29T01:30:00"),
    ],
)
def test_next_tick(schedule: Schedule, after: str, expected: str) -> None:
    schedule.validate()
    assert schedule.next_tick(utc(after)) == utc(expected)


@pytest.mark.parametrize("bad", ["", "* * * *", "61 * * * *", "* * 0 * *", "*/0 * * * *", "x"])
def test_invalid_crontabs(bad: str) -> None:
    with pytest.raises(InvalidSchedule):
        parse_crontab(bad)


@pytest.mark.parametrize(
    ("value", "unit"),
    [("0", "minute"), ("1" * 10, "minute"), ("9" * 400, "minute"), ("101", "year"),
     ("1240", "month"), ("52800000", "minute")],
)  # fmt: skip
def test_intervals_whose_next_run_is_no_date_are_invalid(value: str, unit: str) -> None:
    with pytest.raises(InvalidSchedule):
        Schedule("interval", value, unit).validate()


@pytest.mark.parametrize(("value", "unit"), [("100", "year"), ("1150", "month"), ("5", "minute")])
def test_intervals_up_to_a_century_are_valid(value: str, unit: str) -> None:
    Schedule("interval", value, unit).validate()
    assert Schedule("interval", value, unit).next_tick(CAPTURED) is not None


def check_in(slug: str, status: str, check_in_id: str, **extra: Any) -> bytes:
    return envelope(
        ("check_in", {"check_in_id": check_in_id, "monitor_slug": slug, "status": status, **extra})
    )


def scheduler(db: Database) -> Worker:
    """The worker's periodic job, driven with a clock of the test's choosing."""
    return Worker(db, spool=None, config=WorkerConfig())  # type: ignore[arg-type]


def monitor(api: Any, slug: str) -> dict[str, Any]:
    return next(m for m in api.get("/monitors/") if m["slug"] == slug)


def test_corpus_check_ins_and_a_missed_nightly_run(db: Database) -> None:
    project = create_project(db)
    files = [CORPORA / "sdk-python" / f"crons_checkin.{i}.envelope" for i in range(1, 5)]
    ingest(db, project.id, [f.read_bytes() for f in files], received=CAPTURED)
    worker = scheduler(db)
    with api_client(db, project) as api:
        nightly = monitor(api, "nightly-invoice")
        assert nightly["status"] == "ok"
        assert nightly["latestCheckIn"]["duration"] == 12500.0
        assert nightly["config"] == {
            "schedule_type": "crontab",
            "schedule": "0 2 * * *",
            "timezone": "Europe/Vienna",
            "checkin_margin": 5,
            "max_runtime": 30,
            "failure_issue_threshold": 2,
            "recovery_threshold": 1,
        }
        # 02:00 in Vienna is 01:00 UTC; the margin is 5 minutes.
        assert nightly["nextCheckIn"] == "2026-11-29T01:00:00.000000Z"
        assert nightly["nextCheckInLatest"] == "2026-11-29T01:05:00.000000Z"
        assert monitor(api, "hourly-sync")["status"] == "error"

        worker.run_periodic(utc("2026-11-29T01:04:59"))
        assert monitor(api, "nightly-invoice")["status"] == "ok"
        worker.run_periodic(utc("2026-11-29T01:05:00"))
        nightly = monitor(api, "nightly-invoice")
        assert nightly["status"] == "missed"
        assert nightly["latestCheckIn"]["expectedTime"] == "2026-11-29T01:00:00.000000Z"
        assert nightly["nextCheckIn"] == "2026-11-30T01:00:00.000000Z"
        worker.run_periodic(utc("2026-11-29T01:30:00"))  # nothing new is missed
        statuses = [c["status"] for c in api.get("/monitors/nightly-invoice/checkins/")]
        assert statuses == ["missed", "ok"]


def test_interval_monitor_misses_every_tick_and_recovers(db: Database) -> None:
    project = create_project(db)
    t0 = utc("2026-11-28T17:00:20")
    config = {
        "schedule": {"type": "interval", "value": 10, "unit": "minute"},
        "checkin_margin": 2,
        "max_runtime": 5,
    }
    ingest(
        db,
        project.id,
        [check_in("sync", "ok", "1" * 32, monitor_config=config, duration=3)],
        received=t0,
    )
    worker = scheduler(db)
    with api_client(db, project) as api:
        worker.run_periodic(utc("2026-11-28T17:11:59"))
        assert monitor(api, "sync")["status"] == "ok"
        worker.run_periodic(utc("2026-11-28T17:12:00"))
        assert monitor(api, "sync")["status"] == "missed"
        worker.run_periodic(utc("2026-11-28T17:42:30"))  # three more ticks passed: 20, 30, 40
        checkins = api.get("/monitors/sync/checkins/")
        assert [c["expectedTime"] for c in checkins if c["status"] == "missed"] == [
            f"2026-11-28T17:{m}:00.000000Z" for m in (40, 30, 20, 10)
        ]
        ingest(
            db, project.id, [check_in("sync", "ok", "2" * 32)], received=utc("2026-11-28T17:45:00")
        )
        sync = monitor(api, "sync")
        assert sync["status"] == "ok"
        assert sync["nextCheckIn"] == "2026-11-28T17:55:00.000000Z"


def test_in_progress_check_in_times_out_after_max_runtime(db: Database) -> None:
    project = create_project(db)
    t0 = utc("2026-11-28T03:00:05")
    config = {
        "schedule": {"type": "crontab", "value": "0 3 * * *"},
        "max_runtime": 30,
        "checkin_margin": 10,
    }
    job = "ab" * 16
    ingest(
        db, project.id, [check_in("etl", "in_progress", job, monitor_config=config)], received=t0
    )
    worker = scheduler(db)
    with api_client(db, project) as api:
        assert monitor(api, "etl")["status"] == "in_progress"
        worker.run_periodic(t0 + 29 * 60)
        assert monitor(api, "etl")["status"] == "in_progress"
        worker.run_periodic(t0 + 30 * 60)
        assert monitor(api, "etl")["status"] == "timeout"
        # The job finishing late does not undo the timeout (Sentry's rule).
        ingest(db, project.id, [check_in("etl", "ok", job, duration=2400)], received=t0 + 2400)
        assert monitor(api, "etl")["status"] == "timeout"
        # A new run closed through the all-zero id ("the latest in progress").
        ingest(db, project.id, [check_in("etl", "in_progress", "cd" * 16)], received=t0 + 86400)
        ingest(db, project.id, [check_in("etl", "ok", "0" * 32)], received=t0 + 86460)
        latest = monitor(api, "etl")["latestCheckIn"]
        assert latest["status"] == "ok" and latest["duration"] == pytest.approx(60_000)

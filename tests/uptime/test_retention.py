"""Check results and hourly roll-ups last as long as spans; daily roll-ups as long as events."""

from __future__ import annotations

from sqlalchemy import select
from tests.uptime.bench import UptimeBench

from vedette.domain.retention import RetentionPolicy
from vedette.storage import retention
from vedette.storage import uptime as storage
from vedette.storage.database import Database
from vedette.storage.schema import uptime_rollups

DAY = 86400.0


def test_cleanup_forgets_old_checks_and_keeps_daily_history(db: Database) -> None:
    bench = UptimeBench(db, start=1_900_000_000.0)
    now = bench.clock.now
    monitor = bench.monitor("https://shop.example/")
    with db.write() as conn:
        for age_days in (60, 40, 1):
            at = now - age_days * DAY
            storage.record_check(
                conn, storage.CheckRow(monitor, at, True, 200, 10.0, None, None, None)
            )
    retention.cleanup(db, RetentionPolicy(90 * DAY, 10_000, 30 * DAY), now)
    assert [c.checked_at for c in bench.checks(monitor)] == [now - DAY]
    with db.read() as conn:
        periods = sorted(r.period for r in conn.execute(select(uptime_rollups.c.period)))
    assert periods == [3600, 86400, 86400, 86400]
    bench.close()

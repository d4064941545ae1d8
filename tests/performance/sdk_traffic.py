"""Real ``sentry-sdk`` traffic with known numbers, for the live-server performance test.

Usage: ``python sdk_traffic.py DSN SEED COUNT``. Sends COUNT transactions of three endpoints
with chosen durations and statuses (explicit start/end timestamps, so the numbers are known
exactly), an N+1 loop on one endpoint in release 1.0.0 that release 1.1.0 fixes, a session
per transaction batch, and a cron check-in; prints what it sent as JSON on stdout.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta

import sentry_sdk
from sentry_sdk.crons import capture_checkin
from sentry_sdk.crons.consts import MonitorStatus

STATUSES = ["ok"] * 8 + ["not_found", "internal_error", "cancelled", "unknown_error"]


def send(
    release: str, seed: int, count: int, n_plus_one: bool, dsn: str
) -> list[dict[str, object]]:
    sentry_sdk.init(dsn=dsn, traces_sample_rate=1.0, release=release, environment="prod",
                    default_integrations=False, auto_session_tracking=False)  # fmt: skip
    rng = random.Random(seed)
    now = datetime.now(UTC)
    sent: list[dict[str, object]] = []
    for index in range(count):
        if index % 50 == 49:
            sentry_sdk.flush(timeout=20)  # the transport queue holds 100: never overflow it
        name = rng.choice(["GET /orders", "POST /checkout", "GET /catalog"])
        start = now - timedelta(seconds=rng.uniform(30, 1800))
        duration = timedelta(microseconds=int(rng.lognormvariate(4.5, 0.8) * 1000))
        status = rng.choice(STATUSES)
        txn = sentry_sdk.start_transaction(op="http.server", name=name, source="route",
                                           start_timestamp=start)  # fmt: skip
        cursor = start + timedelta(microseconds=100)
        loops = 6 if n_plus_one and name == "GET /orders" else 1
        for i in range(loops):
            span = txn.start_child(op="db", description=f"SELECT * FROM lines WHERE order_id = {i}",
                                   start_timestamp=cursor)  # fmt: skip
            cursor += timedelta(microseconds=300)
            span.finish(end_timestamp=cursor)
            cursor += timedelta(microseconds=50)
        txn.set_status(status)
        txn.finish(end_timestamp=start + duration)
        sent.append(
            {"name": name, "status": status, "duration_us": duration // timedelta(microseconds=1)}
        )
    sentry_sdk.start_session()  # one errored session per run
    sentry_sdk.capture_exception(RuntimeError("checkout failed"))
    sentry_sdk.end_session()
    capture_checkin(monitor_slug="nightly-export", status=MonitorStatus.OK, duration=4.2,
                    monitor_config={"schedule": {"type": "crontab", "value": "0 4 * * *"},
                                    "checkin_margin": 10, "max_runtime": 60})  # fmt: skip
    sentry_sdk.flush(timeout=20)
    return sent


def main() -> None:
    dsn, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    release = sys.argv[4]
    n_plus_one = release == "shop@1.0.0"
    json.dump(send(release, seed, count, n_plus_one, dsn), sys.stdout)


if __name__ == "__main__":
    main()

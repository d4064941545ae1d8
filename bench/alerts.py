"""What alert rules cost the digest, and how many notifications a storm of one issue sends.

    uv run python bench/alerts.py --events 2000 --rounds 3

The worker's path in-process, on SQLite in a temporary directory: parse, process, store in
batches of 200 and hand the outcomes to the alert rules in the same transaction. Each round
digests the same envelopes into a fresh database with no rules, then with 20 active rules
(every issue trigger, half of them filtered), alternately, and reports the ratio of the two
on two shapes of payload: the real-SDK error of bench/payloads.py (one issue, 50 KB) and small
message events spread over 200 issues, both into issues that exist already; and 200 events that
each open a new issue (every new-issue rule fires for each: that is alerting work, not overhead).
Then a storm: 10,000 events of one issue with the same
20 rules, and the notifications it queued.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from sqlalchemy import func, select

sys.path.insert(0, os.path.dirname(__file__))

from payloads import build_payloads

from vedette.alerts.consumer import Alerts
from vedette.alerts.evaluate import AlertSettings
from vedette.alerts.rule_input import build_spec
from vedette.domain.envelope import parse_envelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.settings import Settings
from vedette.spool.gc_tuning import tune_garbage_collector
from vedette.spool.worker import WorkerConfig
from vedette.storage import accounts, alert_rules
from vedette.storage.ingest_store import store_processed
from vedette.storage.migrate import upgrade
from vedette.storage.schema import alert_firings, notifications
from vedette.stores import open_storage

RULES = [
    *[("new_issue", {}) for _ in range(4)],
    *[("regression", {}) for _ in range(4)],
    *[("frequency", {"threshold": 1000, "window": 3600}) for _ in range(4)],
    *[("users", {"threshold": 1000, "window": 3600}) for _ in range(3)],
    *[("spike", {"threshold": 10, "min_count": 100}) for _ in range(3)],
    *[("cron", {}) for _ in range(2)],
]


def sdk_errors(n: int) -> list[bytes]:
    payload = build_payloads()["error"]
    raw = gzip.decompress(payload.body)
    return [raw.replace(payload.event_id.encode(), uuid.uuid4().hex.encode()) for _ in range(n)]


def small_messages(n: int, issues: int = 200) -> list[bytes]:
    bodies = []
    for i in range(n):
        event = {
            "event_id": uuid.uuid4().hex,
            "timestamp": time.time(),
            "platform": "python",
            "level": "error",
            "environment": "production",
            "message": f"order {i % issues} could not be shipped",
            "fingerprint": [f"shipping-{i % issues}"],
            "tags": {"tenant": f"t{i % 7}"},
            "user": {"id": str(i % 50)},
        }
        body = orjson.dumps(event)
        header = orjson.dumps({"type": "event", "length": len(body)})
        bodies.append(b"{}\n" + header + b"\n" + body + b"\n")
    return bodies


def digest(
    envelopes: list[bytes], rules: int, warm: list[bytes] | None = None
) -> tuple[float, int, int]:
    """CPU seconds to digest ``envelopes`` with ``rules`` rules, after ``warm`` (untimed: the
    issues exist, as in a running system); (seconds, firings, queued)."""
    config = ProcessingConfig()
    alerts = Alerts(AlertSettings("http://vedette.bench", hourly_cap=10**9))
    with tempfile.TemporaryDirectory() as tmp:
        storage = open_storage(Settings(data_dir=Path(tmp)))
        upgrade(storage.db)
        with storage.db.write() as conn:
            project_id = accounts.create_project(conn, "bench", "bench").id
            for index, (when, options) in enumerate(RULES[:rules]):
                spec = build_spec(
                    name=f"rule {index}",
                    when=when,
                    notify=["webhook:https://hooks.example/vedette"],
                    filter_query="environment:production level:error" if index % 2 else "",
                    **options,  # type: ignore[arg-type]
                )
                alert_rules.create_rule(conn, project_id, spec)

        def run(bodies: list[bytes]) -> float:
            started = time.process_time()
            for first in range(0, len(bodies), 200):
                now = time.time()
                batch = [
                    (project_id, process_envelope(parse_envelope(e), now, None, config))
                    for e in bodies[first : first + 200]
                ]
                with storage.db.write() as conn:
                    alerts.issues_stored(conn, store_processed(conn, batch, now), now)
            return time.process_time() - started

        run(warm or [])
        seconds = run(envelopes)
        with storage.db.read() as conn:
            fired = conn.execute(select(func.count()).select_from(alert_firings)).scalar_one()
            queued = conn.execute(select(func.count()).select_from(notifications)).scalar_one()
        storage.dispose()
    return seconds, int(fired), int(queued)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--storm", type=int, default=10_000)
    args = parser.parse_args()
    tune_garbage_collector(WorkerConfig().gc_threshold)
    for shape, envelopes, warm in (
        ("sdk error, 1 issue", sdk_errors(args.events), sdk_errors(10)),
        ("small messages, 200 issues", small_messages(args.events), small_messages(200)),
        ("200 new issues in 200 events", small_messages(200), None),
    ):
        digest(envelopes[:200], 20)  # warm the process's caches
        none, twenty = [], []
        for _ in range(args.rounds):
            none.append(digest(envelopes, 0, warm)[0])
            twenty.append(digest(envelopes, 20, warm)[0])
        base, with_rules = statistics.median(none), statistics.median(twenty)
        print(
            f"{shape}: {len(envelopes) / base:.0f} events/s with no rules,"
            f" {len(envelopes) / with_rules:.0f} with 20 rules:"
            f" 20 rules cost {100 * (with_rules / base - 1):+.1f} %"
            f" (rounds: {[round(s, 2) for s in none]} vs {[round(s, 2) for s in twenty]} s)"
        )
    seconds, fired, queued = digest(small_messages(args.storm, issues=1), 20)
    print(
        f"storm: {args.storm} events of one issue in {seconds:.1f} s CPU with 20 rules:"
        f" {fired} firings, {queued} notifications queued"
    )


if __name__ == "__main__":
    main()

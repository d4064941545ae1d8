"""A project with alert rules, fed through the real pipeline like the worker feeds it.

``AlertBench.send`` processes SDK-shaped envelopes with ``process_envelope``, stores them with
``store_processed`` and hands the outcomes to the alerts consumer in the same transaction, with
a clock of the test's choosing; ``tick`` runs the periodic jobs at a moved clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from tests.performance.traffic import envelope

from vedette.alerts.consumer import Alerts
from vedette.alerts.evaluate import AlertSettings
from vedette.domain.alert_rules import ActionSpec, Metric, RuleSpec, Trigger, validated
from vedette.domain.envelope import parse_envelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.spool.worker import Worker, WorkerConfig
from vedette.storage import accounts, alert_rules
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed
from vedette.storage.schema import alert_firings, groups, notifications

BASE_URL = "https://vedette.example"
T0 = 1_900_000_000.0  # a fixed clock: 2030-03-17T17:46:40Z


def error_event(
    fingerprint: str,
    at: float,
    *,
    environment: str = "production",
    level: str = "error",
    user: str | None = None,
    release: str | None = "shop@1.0.0",
    tags: dict[str, str] | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """An exception event as sentry-python sends it, grouped by ``fingerprint``."""
    event: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "timestamp": at,
        "platform": "python",
        "level": level,
        "environment": environment,
        "fingerprint": [fingerprint],
        "exception": {
            "values": [
                {
                    "type": "KeyError",
                    "value": message or f"'{fingerprint}'",
                    "mechanism": {"type": "generic", "handled": False},
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "shop/checkout.py",
                                "function": "pay",
                                "module": "shop.checkout",
                                "lineno": 42,
                                "in_app": True,
                            }
                        ]
                    },
                }
            ]
        },
        "tags": tags or {},
        "sdk": {"name": "sentry.python", "version": "2.75.0"},
    }
    if release:
        event["release"] = release
    if user:
        event["user"] = {"id": user}
    return event


class AlertBench:
    def __init__(self, db: Database, hourly_cap: int = 100) -> None:
        self.db = db
        with db.write() as conn:
            self.project = accounts.create_project(conn, "acme", f"shop-{uuid.uuid4().hex[:6]}")
        self.alerts = Alerts(AlertSettings(BASE_URL, hourly_cap))

    def rule(
        self,
        trigger: str,
        *targets: str,
        name: str | None = None,
        **options: Any,
    ) -> int:
        if "metric" in options:
            options["metric"] = Metric(options["metric"])
        spec = validated(
            RuleSpec(
                name=name or f"{trigger} rule",
                trigger=Trigger(trigger),
                actions=tuple(ActionSpec(t) for t in targets or ("webhook:https://hooks.test/a",)),
                **options,
            )
        )
        with self.db.write() as conn:
            return alert_rules.create_rule(conn, self.project.id, spec, now=T0)

    def send(self, events: Sequence[dict[str, Any]], now: float) -> None:
        """Store ``events`` (one envelope each) in one batch at ``now``, as the worker does."""
        processed = [
            (
                self.project.id,
                process_envelope(
                    parse_envelope(envelope(("event", e))), now, None, ProcessingConfig()
                ),
            )
            for e in events
        ]
        with self.db.write() as conn:
            self.alerts.issues_stored(conn, store_processed(conn, processed, now), now)

    def send_items(self, items: Sequence[tuple[str, dict[str, Any]]], now: float) -> None:
        processed = [
            (
                self.project.id,
                process_envelope(parse_envelope(envelope(item)), now, None, ProcessingConfig()),
            )
            for item in items
        ]
        with self.db.write() as conn:
            self.alerts.issues_stored(conn, store_processed(conn, processed, now), now)

    def tick(self, now: float) -> None:
        """The worker's periodic jobs (cron scheduler, then alerts) at ``now``."""
        worker = Worker(self.db, spool=None, config=WorkerConfig(), consumer=self.alerts)  # type: ignore[arg-type]
        worker.run_periodic(now)

    def messages(self) -> list[dict[str, Any]]:
        """Every queued notification's message, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(notifications.c.message)
                .where(notifications.c.project_id == self.project.id)
                .order_by(notifications.c.id)
            )
            return [r.message for r in rows]

    def firings(self) -> list[tuple[int | None, str]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(alert_firings.c.group_id, alert_firings.c.delivery)
                .where(alert_firings.c.project_id == self.project.id)
                .order_by(alert_firings.c.id)
            )
            return [(r.group_id, r.delivery) for r in rows]

    def issue_ids(self) -> list[int]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(groups.c.id).where(groups.c.project_id == self.project.id).order_by("id")
            )
            return [r.id for r in rows]

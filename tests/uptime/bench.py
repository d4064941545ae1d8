"""A project with uptime monitors and a checker driven by a moved clock.

``UptimeBench.step(seconds)`` moves the clock and runs what is due then, waiting for every
result to be recorded: the real probe against real loopback servers, the real storage, the
real alert rules. Nothing sleeps.
"""

from __future__ import annotations

import ssl
import time
import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from tests.alerts.bench import BASE_URL

from vedette.alerts.evaluate import AlertSettings
from vedette.domain.alert_rules import ActionSpec, RuleSpec, Trigger, validated
from vedette.storage import accounts, alert_rules
from vedette.storage import uptime as storage
from vedette.storage.codec import unpack
from vedette.storage.database import Database
from vedette.storage.schema import events, groups, notifications
from vedette.uptime.checker import Checker, CheckerSettings
from vedette.uptime.probe import ProbeSettings
from vedette.uptime.spec import MonitorSpec, config_values
from vedette.uptime.spec import validated as valid_monitor


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class UptimeBench:
    def __init__(
        self,
        db: Database,
        *,
        allow_private: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        start: float | None = None,
    ) -> None:
        self.db = db
        with db.write() as conn:
            self.project = accounts.create_project(conn, "acme", f"shop-{uuid.uuid4().hex[:6]}")
        self.clock = Clock(float(int(time.time())) if start is None else start)
        settings = CheckerSettings(
            probe=ProbeSettings(allow_private=allow_private, ssl_context=ssl_context),
            alerts=AlertSettings(BASE_URL),
        )
        self.checker = Checker(db, settings, self.clock)

    def monitor(self, url: str, **options: Any) -> int:
        spec = valid_monitor(
            replace(MonitorSpec(name=options.pop("name", url), url=url), **options)
        )
        with self.db.write() as conn:
            return storage.create_monitor(conn, self.project.id, config_values(spec), self.clock())

    def rule(self, trigger: str) -> int:
        spec = validated(
            RuleSpec(f"{trigger} rule", Trigger(trigger), (ActionSpec("webhook:https://h.test/"),))
        )
        with self.db.write() as conn:
            return alert_rules.create_rule(conn, self.project.id, spec, now=self.clock())

    def step(self, seconds: float = 0.0) -> int:
        """Move the clock, run what is due; how many checks ran."""
        self.clock.now += seconds
        return self.checker.run_due()

    def state(self, monitor_id: int) -> storage.UptimeMonitor:
        with self.db.read() as conn:
            monitor = storage.get_monitor(conn, monitor_id)
        assert monitor is not None
        return monitor

    def checks(self, monitor_id: int) -> list[storage.CheckRow]:
        with self.db.read() as conn:
            return storage.recent_checks(conn, monitor_id, 1000)

    def issues(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(groups.c.id, groups.c.title, groups.c.status, groups.c.level,
                       groups.c.times_seen)
                .where(groups.c.project_id == self.project.id)
                .order_by(groups.c.id)
            )  # fmt: skip
            return [dict(r._mapping) for r in rows]

    def event_data(self, issue_id: int) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(events.c.data).where(events.c.group_id == issue_id).order_by(events.c.id)
            )
            return [unpack(r.data) for r in rows]

    def messages(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(notifications.c.message)
                .where(notifications.c.project_id == self.project.id)
                .order_by(notifications.c.id)
            )
            return [r.message for r in rows]

    def close(self) -> None:
        self.checker.close()

"""Alerts as the worker's result consumer (see ``spool.worker.ResultConsumer``)."""

from __future__ import annotations

from sqlalchemy import Connection

from vedette.alerts import assignee_notices, feedback_alerts, periodic
from vedette.alerts.evaluate import AlertSettings, issues_stored
from vedette.domain.processed import UserFeedback
from vedette.storage.ingest_store import IssueOutcome


class Alerts:
    def __init__(self, settings: AlertSettings) -> None:
        self._settings = settings

    def issues_stored(self, conn: Connection, outcomes: list[IssueOutcome], now: float) -> None:
        issues_stored(conn, outcomes, now, self._settings)
        assignee_notices.regressions(conn, outcomes, now, self._settings.base_url)

    def feedback_stored(
        self, conn: Connection, stored: list[tuple[int, UserFeedback]], now: float
    ) -> None:
        feedback_alerts.feedback_stored(conn, stored, now, self._settings)

    def tick(self, conn: Connection, now: float) -> None:
        periodic.tick(conn, now, self._settings)

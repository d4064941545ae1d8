"""Release health: session updates, aggregates and the counting rules.

Counters per (project, release, environment, hour of ``started``):
- ``total``: sessions, counted once, on ``init`` (plus every session an aggregate reports);
- ``unhealthy``: sessions that ever had errors or were errored/unhandled/crashed/abnormal, once
  per sid (``unhandled``: browser SDKs' uncaught error that did not end the app: errored, not
  crashed);
- ``crashed`` / ``abnormal``: sessions whose terminal status is that, once per sid.
So ``errored = unhealthy - crashed - abnormal`` and ``healthy = total - unhealthy`` (the four
groups are mutually exclusive), crash-free sessions ``= 1 - crashed / total``. See
docs/protocol.md, "Sessions and release health".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

TERMINAL = frozenset({"exited", "crashed", "abnormal"})
STATUSES = frozenset({"ok", "exited", "crashed", "abnormal", "errored", "unhandled"})
UNHEALTHY = frozenset({"errored", "unhandled", "crashed", "abnormal"})
BUCKET_SECONDS = 3600


def bucket_of(timestamp: float) -> int:
    return int(timestamp // BUCKET_SECONDS) * BUCKET_SECONDS


@dataclass(frozen=True, slots=True)
class SessionUpdate:
    sid: str
    did: str | None  # already hashed
    init: bool
    seq: int
    started: float
    timestamp: float
    status: str
    errors: int
    release: str
    environment: str
    duration: float | None


@dataclass(frozen=True, slots=True)
class SessionAggregate:
    """One bucket of a ``sessions`` item: that many complete sessions (implicit init)."""

    started: float
    did: str | None
    release: str
    environment: str
    exited: int
    errored: int
    crashed: int
    abnormal: int

    @property
    def total(self) -> int:
        return self.exited + self.errored + self.crashed + self.abnormal


@dataclass(frozen=True, slots=True)
class SessionState:
    """What storage remembers of one session between updates."""

    seq: int
    status: str
    unhealthy: bool
    release: str
    environment: str
    started: float
    did: str | None
    counted: bool  # its init was seen (the session is in ``total``)


@dataclass(frozen=True, slots=True)
class SessionDelta:
    total: int = 0
    unhealthy: int = 0
    crashed: int = 0
    abnormal: int = 0
    exited_with_duration: int = 0
    duration_sum: float = 0.0
    user_crashed: bool = False


def apply_update(
    prior: SessionState | None, update: SessionUpdate
) -> tuple[SessionState | None, SessionDelta]:
    """The session's next state and what the update adds to its bucket's counters.

    Updates after a terminal state and updates older (by ``seq``) than the last one applied
    change nothing; the first update seen counts the session only when it says ``init``.
    """
    if prior is not None and (prior.status in TERMINAL or update.seq < prior.seq):
        if update.init and not prior.counted:  # the init came late: still count the session
            return replace(prior, counted=True), SessionDelta(total=1)
        return None, SessionDelta()
    total = 1 if update.init and (prior is None or not prior.counted) else 0
    was_unhealthy = prior is not None and prior.unhealthy
    unhealthy_now = update.errors > 0 or update.status in UNHEALTHY
    crashed = update.status == "crashed"
    exited_duration = update.status == "exited" and update.duration is not None
    state = SessionState(
        seq=update.seq,
        status=update.status,
        unhealthy=was_unhealthy or unhealthy_now,
        release=prior.release if prior is not None else update.release,
        environment=prior.environment if prior is not None else update.environment,
        started=prior.started if prior is not None else update.started,
        did=update.did or (prior.did if prior is not None else None),
        counted=total == 1 or (prior is not None and prior.counted),
    )
    delta = SessionDelta(
        total=total,
        unhealthy=1 if unhealthy_now and not was_unhealthy else 0,
        crashed=1 if crashed else 0,
        abnormal=1 if update.status == "abnormal" else 0,
        exited_with_duration=1 if exited_duration else 0,
        duration_sum=(update.duration or 0.0) if exited_duration else 0.0,
        user_crashed=crashed,
    )
    return state, delta


def crash_free(crashed: int, total: int) -> float | None:
    return None if total <= 0 else max(0.0, 1.0 - crashed / total)

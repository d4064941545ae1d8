"""The pure decisions of uptime: what a response means, what a run of results does to a
monitor's state, when a monitor runs next, and when a certificate deserves a warning."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from vedette.uptime.spec import MonitorSpec

TLS_WARNING_SECONDS = 14 * 86400


class ErrorClass(StrEnum):
    """Why a check failed, from the outside in."""

    REFUSED = "refused"  # the SSRF guard refused the destination: never sent
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    STATUS = "status"  # answered, with a status outside the expected range
    BODY = "body"  # answered, without the expected text


@dataclass(frozen=True, slots=True)
class Response:
    """What the probe got back: an answer, or a transport failure (``error_class``)."""

    latency_ms: float
    status_code: int | None = None
    body: bytes = b""
    error_class: ErrorClass | None = None
    error: str | None = None
    certificate_expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    error_class: ErrorClass | None
    error: str | None


def judge(spec: MonitorSpec, response: Response) -> Verdict:
    """Up when the status lies in the expected range and the body holds the expected text."""
    if response.error_class is not None:
        return Verdict(False, response.error_class, response.error)
    status = response.status_code
    if status is None or not spec.status_min <= status <= spec.status_max:
        expected = f"{spec.status_min}-{spec.status_max}"
        return Verdict(False, ErrorClass.STATUS, f"HTTP {status}, expected {expected}")
    if spec.body_contains and spec.body_contains.encode() not in response.body:
        return Verdict(False, ErrorClass.BODY, f"the body does not contain {spec.body_contains!r}")
    return Verdict(True, None, None)


class State(StrEnum):
    PENDING = "pending"  # not checked yet
    UP = "up"
    DOWN = "down"


class Transition(StrEnum):
    NONE = "none"
    WENT_DOWN = "went_down"  # the threshold-th failure in a row: the issue opens
    STILL_DOWN = "still_down"  # another failure of an open outage: one more event
    RECOVERED = "recovered"  # the first success after an outage: the issue resolves


@dataclass(frozen=True, slots=True)
class Standing:
    state: State
    consecutive_failures: int


def advance(standing: Standing, ok: bool, threshold: int) -> tuple[Standing, Transition]:
    """The monitor's state after one more result. Down takes ``threshold`` failures in a row
    (one bad answer is not an outage); one success ends an outage."""
    if ok:
        was_down = standing.state == State.DOWN
        return Standing(State.UP, 0), Transition.RECOVERED if was_down else Transition.NONE
    failures = standing.consecutive_failures + 1
    if standing.state == State.DOWN:
        return Standing(State.DOWN, failures), Transition.STILL_DOWN
    if failures >= threshold:
        return Standing(State.DOWN, failures), Transition.WENT_DOWN
    return Standing(standing.state, failures), Transition.NONE


def phase(monitor_id: int, interval_seconds: int) -> int:
    """A monitor's fixed offset within its interval (the jitter): monitors created together
    do not all run at the same second, and a monitor keeps its cadence across restarts."""
    digest = hashlib.sha256(f"uptime:{monitor_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % interval_seconds


def next_due(now: float, interval_seconds: int, offset: int) -> float:
    """The first time after ``now`` that is ``offset`` past a multiple of the interval."""
    start = now - (now - offset) % interval_seconds
    return start + interval_seconds


def certificate_warning(expires_at: float | None, now: float) -> bool:
    """Whether a certificate expiring at ``expires_at`` deserves a warning now."""
    return expires_at is not None and expires_at - now < TLS_WARNING_SECONDS
